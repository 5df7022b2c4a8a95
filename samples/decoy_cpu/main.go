// decoy_cpu: heavy CPU work that makes progress: a worker goroutine keeps a
// CPU busy for about 10 s, spreading its time across hashing, sorting,
// compression and arithmetic in short rounds, then finishes. It is not a
// stuck loop and must give no finding.
//
// loophound:expect none
// loophound:decoy function=main.hashRound function=main.sortRound function=main.compressRound function=main.primeRound
package main

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"fmt"
	"math/rand"
	"sort"
	"time"

	"loophound/samples/common"
)

func hashRound(data []byte) byte {
	sum := sha256.Sum256(data)
	for i := 0; i < 200; i++ {
		sum = sha256.Sum256(sum[:])
	}
	return sum[0]
}

func sortRound(r *rand.Rand) int {
	xs := make([]int, 20000)
	for i := range xs {
		xs[i] = r.Int()
	}
	sort.Ints(xs)
	return xs[0] & 1
}

func compressRound(data []byte) int {
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	w.Write(data)
	w.Close()
	return out.Len()
}

func primeRound(from int) int {
	count := 0
	for n := from; n < from+2000; n++ {
		prime := n > 1
		for d := 2; d*d <= n; d++ {
			if n%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return count
}

// work gives each kind of job an equal slice of time, 20 ms at a time, so
// no one function holds the CPU for long: busy, but always moving on.
func work(duration time.Duration, done chan<- int) {
	r := rand.New(rand.NewSource(1))
	data := make([]byte, 64<<10)
	r.Read(data)
	jobs := []func(round int) int{
		func(int) int { return int(hashRound(data)) },
		func(int) int { return sortRound(r) },
		func(int) int { return compressRound(data) },
		func(round int) int { return primeRound(round * 1000) },
	}
	total := 0
	deadline := time.Now().Add(duration)
	for round := 0; time.Now().Before(deadline); round++ {
		job := jobs[round%len(jobs)]
		for until := time.Now().Add(20 * time.Millisecond); time.Now().Before(until); {
			total += job(round)
		}
	}
	done <- total
}

func main() {
	common.Start("decoy_cpu")
	done := make(chan int)
	go work(10*time.Second, done)
	fmt.Println("decoy_cpu: finished, checksum", <-done)
}
