// decoy_sort: a batch job sorts large batches of records (a million each,
// by two keys) for about 25 s, then exits. The time is spent in the sort
// package's pdqsort and in the comparison closure: CPU-bound, never parked,
// but each batch is fresh data and finishes. It must give no finding.
//
// loophound:expect none
// loophound:decoy function=main.sortBatch function=main.sortBatch.func1 function=main.run
package main

import (
	"fmt"
	"math/rand"
	"sort"
	"time"

	"loophound/samples/common"
)

type record struct {
	tenant uint32
	ts     int64
	size   int32
}

func fill(r *rand.Rand, batch []record) {
	for i := range batch {
		batch[i] = record{tenant: uint32(r.Intn(1000)), ts: r.Int63(), size: int32(r.Intn(1 << 20))}
	}
}

func sortBatch(batch []record) {
	sort.Slice(batch, func(i, j int) bool {
		if batch[i].tenant != batch[j].tenant {
			return batch[i].tenant < batch[j].tenant
		}
		return batch[i].ts < batch[j].ts
	})
}

func run(d time.Duration, done chan<- int) {
	r := rand.New(rand.NewSource(3))
	batch := make([]record, 1<<20)
	batches := 0
	for deadline := time.Now().Add(d); time.Now().Before(deadline); batches++ {
		fill(r, batch)
		sortBatch(batch)
	}
	done <- batches
}

func uploader(results <-chan string) {
	for r := range results {
		fmt.Println("upload", r)
	}
}

func main() {
	common.Start("decoy_sort")
	go uploader(make(chan string))
	done := make(chan int)
	go run(25*time.Second, done)
	fmt.Println("decoy_sort: sorted", <-done, "batches")
}
