// sched_workload: a scheduler-heavy Go program for measuring what tracing
// costs. Three parts run at once for the whole run:
//   - pingpong: two goroutines bounce a token over unbuffered channels
//     (two goroutine switches per round trip);
//   - timers: 2000 goroutines sleep 1 ms in a loop (timer wakeups);
//   - mutex: 8 goroutines take turns on one sync.Mutex around a little work.
// Counting happens only inside a window [-warmup, -warmup + -window] so a
// tracer can attach before it opens. Prints one line of counts per second:
//   pingpong=N timers=N mutex=N window=SECONDS
// With -trace FILE the program runs Go's own runtime/trace for the whole run
// (the anchor the recorder's switch events are compared with).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

var (
	warmup  = flag.Duration("warmup", time.Second, "time before the counting window opens")
	window  = flag.Duration("window", 3*time.Second, "length of the counting window")
	tracing = flag.String("trace", "", "write a runtime/trace to this file")
)

var pingpongs, wakeups, locks atomic.Int64

func pingpong() {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	for v := 0; ; v++ {
		ping <- v
		<-pong
		pingpongs.Add(1)
	}
}

func sleeper() {
	for {
		time.Sleep(time.Millisecond)
		wakeups.Add(1)
	}
}

var mu sync.Mutex
var shared [64]int

func locker(id int) {
	for {
		mu.Lock()
		for i := range shared {
			shared[i] += id
		}
		mu.Unlock()
		locks.Add(1)
	}
}

func main() {
	flag.Parse()
	if *tracing != "" {
		f, err := os.Create(*tracing)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer func() { trace.Stop(); f.Close() }()
	}
	fmt.Printf("pid=%d\n", os.Getpid())
	go pingpong()
	for i := 0; i < 2000; i++ {
		go sleeper()
	}
	for i := 0; i < 8; i++ {
		go locker(i)
	}
	time.Sleep(*warmup)
	p0, w0, l0 := pingpongs.Load(), wakeups.Load(), locks.Load()
	start := time.Now()
	time.Sleep(*window)
	seconds := time.Since(start).Seconds()
	p1, w1, l1 := pingpongs.Load(), wakeups.Load(), locks.Load()
	fmt.Printf("pingpong=%.0f timers=%.0f mutex=%.0f window=%.3f\n",
		float64(p1-p0)/seconds, float64(w1-w0)/seconds, float64(l1-l0)/seconds, seconds)
}
