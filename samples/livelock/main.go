// livelock: two code paths need the same two locks in opposite order. To
// "avoid deadlock" each takes its own lock, tries the other with TryLock,
// and on failure releases its own, backs off for the same fixed time and
// tries again. Because both back off identically they stay in step: each
// always holds its lock when the other tries it, so neither ever gets
// both, and both retry forever. Neither goroutine is at 100% of a CPU (each
// parks briefly every round, in the back-off sleep and the hand-over), yet
// no work is ever done. Models "polite" TryLock / back-off retry protocols
// with identical delays (and, more widely, two parties that keep undoing
// each other's attempt).
//
// In a real program the lockstep comes from timing; here a two-party
// rendezvous makes it exact, so the sample never escapes by luck.
//
// Two expected findings, one per goroutine:
// loophound:expect kind=livelock function=main.(*store).reserveStock
// loophound:expect kind=livelock function=main.(*store).restock
package main

import (
	"fmt"
	"sync"
	"time"

	"loophound/samples/common"
)

const backoff = 500 * time.Microsecond // the same on both sides: the bug

// rendezvous is a two-party barrier: each side returns only once the other
// side has arrived too.
type rendezvous struct{ a, b chan struct{} }

func (r *rendezvous) left()  { r.a <- struct{}{}; <-r.b }
func (r *rendezvous) right() { <-r.a; r.b <- struct{}{} }

type store struct {
	orders    sync.Mutex
	inventory sync.Mutex
	stock     map[string]int
	pending   []string
	step      rendezvous
	attempts  [2]int
}

// validate stands for the per-attempt work (pricing, checks): a few
// hundred microseconds of CPU.
func validate(seed uint64, rounds int) uint64 {
	x := seed
	for i := 0; i < rounds; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 29
	}
	return x
}

var sink uint64

// reserveStock: orders lock first, then inventory.
func (s *store) reserveStock(item string) {
	for { // loophound:loop function=main.(*store).reserveStock
		s.orders.Lock()
		s.attempts[0]++
		sink += validate(uint64(len(item)), workRounds)
		s.step.left()
		ok := s.inventory.TryLock()
		s.step.left()
		if ok {
			s.stock[item]--
			s.inventory.Unlock()
			s.orders.Unlock()
			return
		}
		s.orders.Unlock()
		time.Sleep(backoff)
	}
}

// restock: inventory lock first, then orders.
func (s *store) restock(item string) {
	for { // loophound:loop function=main.(*store).restock
		s.inventory.Lock()
		s.attempts[1]++
		sink += validate(uint64(len(item))+1, workRounds)
		s.step.right()
		ok := s.orders.TryLock()
		s.step.right()
		if ok {
			s.stock[item] += 10
			s.pending = nil
			s.orders.Unlock()
			s.inventory.Unlock()
			return
		}
		s.inventory.Unlock()
		time.Sleep(backoff)
	}
}

var workRounds = 600000

func notifier(in <-chan string) {
	for n := range in {
		fmt.Println("notify", n)
	}
}

func main() {
	common.Start("livelock")
	s := &store{stock: map[string]int{"widget": 3}, step: rendezvous{make(chan struct{}), make(chan struct{})}}
	go notifier(make(chan string))
	go s.reserveStock("widget")
	go s.restock("widget")
	for {
		time.Sleep(time.Second)
	}
}
