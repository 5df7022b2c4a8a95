// unsigned_underflow: a ring buffer's entries are summed newest to oldest
// with `for i := uint(r.head); i >= 0; i--`. An unsigned i is always >= 0:
// after 0 it wraps to the largest uint and keeps going. The modulo in the
// index keeps it from ever panicking, so the loop just never ends. Models
// the reverse loop over an unsigned counter (size_t/uint) that never
// terminates; `go vet` would not even warn here.
//
// Go's compiler sees that the loop can never end, so `total` is never
// used: the whole loop compiles to `nop; jmp` (line 1 of the file holds
// the jump). No way out and no effect: no_progress, with or without
// registers.
//
// loophound:expect kind=no_progress function=main.(*ring).recentTotal
package main

import (
	"fmt"

	"loophound/samples/common"
)

type ring struct {
	samples [1024]int64
	head    int
}

func (r *ring) add(v int64) {
	r.head = (r.head + 1) % len(r.samples)
	r.samples[r.head] = v
}

// recentTotal sums the samples from the newest back to the oldest.
func (r *ring) recentTotal() int64 {
	var total int64
	size := uint(len(r.samples))
	for i := uint(r.head); i >= 0; i-- { // loophound:loop
		total += r.samples[i%size]
		if total > 1<<40 {
			total = 0 // "overflow protection"
		}
	}
	return total
}

func report(r *ring, out chan<- int64) {
	out <- r.recentTotal()
}

func collector(r *ring, in <-chan int64) {
	for v := range in {
		r.add(v)
	}
}

func main() {
	common.Start("unsigned_underflow")
	r := &ring{}
	for i := 0; i < 300; i++ {
		r.add(int64(i * 7))
	}
	totals := make(chan int64)
	go collector(&ring{}, make(chan int64))
	go report(r, totals)
	fmt.Println("total:", <-totals) // never
}
