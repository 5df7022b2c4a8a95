// spin_compute: a worker goroutine runs an endless arithmetic loop. The
// Collatz walk is meant to stop at 0, which it never reaches, so the loop
// never exits; it calls nothing and never blocks.
//
// loophound:expect kind=spin function=main.collatzSteps
package main

import (
	"fmt"
	"time"

	"loophound/samples/common"
)

func collatzSteps(seed uint64) uint64 {
	x, steps := seed, uint64(0)
	for x != 0 { // loophound:loop
		if x%2 == 0 {
			x /= 2
		} else {
			x = 3*x + 1
		}
		steps++
	}
	return steps
}

func worker(seeds <-chan uint64, results chan<- uint64) {
	for s := range seeds {
		results <- collatzSteps(s)
	}
}

func main() {
	common.Start("spin_compute")
	seeds, results := make(chan uint64), make(chan uint64)
	go worker(seeds, results)
	seeds <- 27
	fmt.Println("steps:", <-results) // never arrives
	for {
		time.Sleep(time.Second)
	}
}
