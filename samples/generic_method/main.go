// generic_method: a generic work queue's drain method hands items to a
// handler while the queue is not empty, but was refactored to peek at the
// head instead of popping it, so len(q.items) never shrinks and the same
// item is handled forever. The loop sits in a method of a generic type:
// the compiler emits it once per GC shape, under a symbol such as
// main.(*Queue[go.shape.int]).drain (Go 1.21+; Go 1.18-1.20 call the shape
// go.shape.int_0), which the caller passes a dictionary,
// main..dict.(*Queue[int]).drain; there is no function named
// main.(*Queue[int]).drain. The expectation names the shape function as
// the symbol table and DWARF of Go 1.26 do; samples/evaluate.sh compares
// generic names with their type arguments replaced by "...", so either
// toolchain's spelling matches. Models loops over a container whose
// "advance" step was lost.
//
// loophound:expect kind=spin function=main.(*Queue[go.shape.int]).drain
package main

import (
	"sync"
	"time"

	"loophound/samples/common"
)

type Queue[T any] struct {
	mu      sync.Mutex
	items   []T
	handled int
}

func (q *Queue[T]) Push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
}

// drain hands every queued item to handle.
func (q *Queue[T]) drain(handle func(T)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) > 0 { // loophound:loop
		item := q.items[0] // the bug: peeks, never pops (q.items = q.items[1:])
		handle(item)
		q.handled++
	}
}

type stats struct{ sum, count int }

func flusher(q *Queue[int], s *stats, kick <-chan struct{}) {
	for range kick {
		q.drain(func(v int) {
			s.sum += v
			s.count++
		})
	}
}

func producerIdle(more <-chan int, q *Queue[int]) {
	for v := range more {
		q.Push(v)
	}
}

func main() {
	common.Start("generic_method")
	q := &Queue[int]{}
	for i := 1; i <= 10; i++ {
		q.Push(i)
	}
	kick := make(chan struct{})
	go producerIdle(make(chan int), q)
	go flusher(q, &stats{}, kick)
	kick <- struct{}{}
	for {
		time.Sleep(time.Second)
	}
}
