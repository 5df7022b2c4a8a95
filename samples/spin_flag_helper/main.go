// spin_flag_helper: a worker waits for a "started" flag through a tiny
// helper, waitUntil, that spins on a plain *bool. The goroutine meant to
// set the flag waits for a listener that never comes up, so the worker burns
// a CPU forever. The helper is small enough for the compiler to inline into
// its caller, so the loop's machine code sits inside main.startWorker while
// the source (and the report) must name main.waitUntil and its own line.
// Models the "wait-for-flag helper" hangs of real services: a hand-rolled
// `for !*ready {}` instead of a channel, sync.WaitGroup or atomic + sleep.
//
// The loop neither stores nor calls and its registers never change:
// no_progress (a spin when recorded with --no-regs).
//
// loophound:expect kind=no_progress function=main.waitUntil
package main

import (
	"fmt"
	"time"

	"loophound/samples/common"
)

var started bool // written without synchronization: the bug

// waitUntil returns once *p is true. No atomics, no yielding.
func waitUntil(p *bool) {
	for !*p { // loophound:loop
	}
}

func startWorker(id int, jobs <-chan string) {
	waitUntil(&started)
	for job := range jobs {
		fmt.Println("worker", id, "job", job)
	}
}

func listen(accepted <-chan struct{}) {
	<-accepted // the listener never accepts: nobody sends
	started = true
}

func statsReporter(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
	}
}

func main() {
	common.Start("spin_flag_helper")
	jobs := make(chan string)
	go listen(make(chan struct{}))
	go statsReporter(100 * time.Millisecond)
	go startWorker(1, jobs)
	for {
		time.Sleep(time.Second)
	}
}
