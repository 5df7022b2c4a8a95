// closed_channel: a consumer reads jobs with `job := <-jobs` in a `for {}`
// loop and ignores the second result. When the producer finishes and closes
// the channel, every receive returns the zero job immediately instead of
// blocking, so the consumer "processes" empty jobs at full speed forever. A
// receive on a closed channel never blocks, so this is a spin even though
// each round calls into the runtime (runtime.chanrecv1 -> chanrecv, which
// takes and drops the channel lock): the leaf is in the runtime, the loop
// is in main.consumeJobs. Models the missing `job, ok := <-jobs; if !ok`
// (or `for job := range jobs`).
//
// loophound:expect kind=spin function=main.consumeJobs
package main

import (
	"fmt"
	"strings"
	"time"

	"loophound/samples/common"
)

type job struct {
	id      int
	payload string
}

var processed, empty int

func process(j job) {
	if j.payload == "" {
		empty++
		return
	}
	processed++
	_ = strings.ToUpper(j.payload)
}

func consumeJobs(jobs <-chan job) {
	for { // loophound:loop
		j := <-jobs // ignores ok: after close, the zero job forever
		process(j)
	}
}

func produce(jobs chan<- job, n int) {
	for i := 0; i < n; i++ {
		jobs <- job{id: i, payload: fmt.Sprintf("job-%d", i)}
	}
	close(jobs) // done producing
}

func auditLog(entries <-chan string) {
	for e := range entries {
		fmt.Println("audit", e)
	}
}

func main() {
	common.Start("closed_channel")
	jobs := make(chan job, 8)
	go auditLog(make(chan string))
	go produce(jobs, 100)
	go consumeJobs(jobs)
	for {
		time.Sleep(time.Second)
	}
}
