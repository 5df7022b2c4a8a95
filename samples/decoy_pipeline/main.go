// decoy_pipeline: a two-stage pipeline, a parser and an aggregator, passes
// batches back and forth through channels: the parser fills a batch (a
// few hundred microseconds of CPU), hands it over and waits for an empty
// one back; the aggregator sums it and returns it. Each goroutine runs at
// 30-60% of a CPU and parks briefly every round, the same outline as a
// livelock, but every round does real, new work, and the job ends after
// about 25 s. It must give no finding.
//
// loophound:expect none
// loophound:decoy function=main.parse function=main.aggregate
package main

import (
	"fmt"
	"time"

	"loophound/samples/common"
)

type batch struct {
	seq    int
	values [4096]uint64
}

func parse(free <-chan *batch, full chan<- *batch, deadline time.Time) {
	x := uint64(88172645463325252)
	for seq := 0; time.Now().Before(deadline); seq++ {
		b := <-free
		b.seq = seq
		for i := range b.values {
			for k := 0; k < 12; k++ { // xorshift: "decode" a field
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
			}
			b.values[i] = x % 1000
		}
		full <- b
	}
	close(full)
}

func aggregate(full <-chan *batch, free chan<- *batch, done chan<- string) {
	var hist [1000]uint64
	batches := 0
	for b := range full {
		for _, v := range b.values {
			for k := uint64(0); k < 24; k++ { // "validate" the value
				hist[(v+k)%1000] += k
			}
		}
		batches++
		free <- b
	}
	done <- fmt.Sprintf("%d batches, hist[0]=%d", batches, hist[0])
}

func main() {
	common.Start("decoy_pipeline")
	free, full := make(chan *batch, 1), make(chan *batch)
	free <- &batch{}
	done := make(chan string)
	go parse(free, full, time.Now().Add(25*time.Second))
	go aggregate(full, free, done)
	fmt.Println("decoy_pipeline:", <-done)
}
