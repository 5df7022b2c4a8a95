// parent_cycle: rootOf walks up a tree's parent links, looking each one up
// in a map under a read lock, until it reaches a node that is its own
// parent. A re-parenting operation made two nodes each other's parent, so
// the walk alternates between them forever. Every round calls into
// sync.(*RWMutex).RLock/RUnlock and the runtime's map lookup, which return:
// the leaf varies between the runtime and the lock code while the loop is
// in the caller frame main.(*tree).rootOf (which may itself be inlined into
// its caller). Models "walk up the parents" loops over corrupted or cyclic
// links (cgroup/DOM/filesystem trees, union-find without path checks).
//
// loophound:expect kind=spin function=main.(*tree).rootOf
package main

import (
	"fmt"
	"sync"
	"time"

	"loophound/samples/common"
)

type tree struct {
	mu     sync.RWMutex
	parent map[int64]int64
	hops   int
}

func (t *tree) rootOf(id int64) int64 {
	for { // loophound:loop
		t.mu.RLock()
		p, ok := t.parent[id]
		t.mu.RUnlock()
		t.hops++
		if !ok || p == id {
			return id
		}
		id = p
	}
}

// move re-parents id under newParent; it does not check for cycles.
func (t *tree) move(id, newParent int64) {
	t.mu.Lock()
	t.parent[id] = newParent
	t.mu.Unlock()
}

func janitor(t *tree, every time.Duration) {
	for {
		time.Sleep(every)
		t.mu.RLock()
		_ = len(t.parent)
		t.mu.RUnlock()
	}
}

func lookupServer(t *tree, queries <-chan int64, answers chan<- int64) {
	for q := range queries {
		answers <- t.rootOf(q)
	}
}

func main() {
	common.Start("parent_cycle")
	t := &tree{parent: map[int64]int64{}}
	t.parent[1] = 1
	for id := int64(2); id < 5000; id++ {
		t.parent[id] = id / 2
	}
	t.move(2, 5) // 5's parent is 2: now 2 -> 5 -> 2 -> ...
	queries, answers := make(chan int64), make(chan int64)
	go janitor(t, 100*time.Millisecond)
	go lookupServer(t, queries, answers)
	queries <- 4096                 // 4096 -> 2048 -> ... -> 4 -> 2 -> 5 -> 2 -> ...
	fmt.Println("root:", <-answers) // never
}
