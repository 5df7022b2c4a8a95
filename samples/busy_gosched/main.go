// busy_gosched: a coordinator waits for all workers to report ready with
// `for !allReady() { runtime.Gosched() }`, "yielding politely" instead of
// blocking. One worker waits for a license check that never answers, so
// the count never reaches the target and the coordinator yields in a tight
// loop forever. With spare CPUs it is rescheduled at once each time, so it
// uses a whole CPU, much of it inside the scheduler (on g0) rather than in
// its own code. Models Gosched / yield-based waiting loops.
//
// loophound:expect kind=busy_poll function=main.waitForWorkers
package main

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"loophound/samples/common"
)

var readyWorkers int32

func allReady(want int32) bool {
	return atomic.LoadInt32(&readyWorkers) >= want
}

func waitForWorkers(want int32) {
	for !allReady(want) { // loophound:loop
		runtime.Gosched()
	}
	fmt.Println("all workers ready")
}

func worker(id int, license <-chan bool, work <-chan int) {
	if id == 3 {
		<-license // the license server never answers
	}
	atomic.AddInt32(&readyWorkers, 1)
	for w := range work {
		fmt.Println("worker", id, "got", w)
	}
}

func main() {
	common.Start("busy_gosched")
	work := make(chan int)
	license := make(chan bool)
	for id := 0; id < 4; id++ {
		go worker(id, license, work)
	}
	go waitForWorkers(4)
	for {
		time.Sleep(time.Second)
	}
}
