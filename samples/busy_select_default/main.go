// busy_select_default: an event pump polls its channel with
// `select { case ev := <-events: ...; default: }` so that it can "also check
// for shutdown" without blocking. The producer of events is waiting for an
// upstream connection that never comes, so every select takes the default
// branch at once and the pump burns a CPU forever. Each round goes through
// the runtime's non-blocking receive (runtime.selectnbrecv ->
// runtime.chanrecv), so the leaf is in the runtime while the loop is in the
// caller. Models the classic "select with an empty default" busy poll.
//
// loophound:expect kind=busy_poll function=main.(*pump).run
package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"loophound/samples/common"
)

type event struct {
	id   int
	body string
}

type pump struct {
	events   chan event
	stopping int32
	handled  int
}

func (p *pump) run() {
	for atomic.LoadInt32(&p.stopping) == 0 { // loophound:loop
		select {
		case ev := <-p.events:
			p.handled++
			fmt.Println("event", ev.id, ev.body)
		default:
			// nothing yet: "check again"
		}
	}
}

func upstream(connected <-chan struct{}, out chan<- event) {
	<-connected // never connects
	for i := 0; ; i++ {
		out <- event{id: i, body: "tick"}
	}
}

func healthChecker(every time.Duration) {
	for {
		time.Sleep(every)
	}
}

func main() {
	common.Start("busy_select_default")
	p := &pump{events: make(chan event, 16)}
	go upstream(make(chan struct{}), p.events)
	go healthChecker(200 * time.Millisecond)
	go p.run()
	for {
		time.Sleep(time.Second)
	}
}
