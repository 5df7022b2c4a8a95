// Package common holds what every sample runs besides its main subject:
// ordinary goroutines that sleep or block on channels, as a real service
// has, and a watchdog so a sample left behind by a test cannot spin forever.
package common

import (
	"flag"
	"fmt"
	"os"
	"time"
)

var exitAfter = flag.Duration("exit-after", 2*time.Minute,
	"exit after this long (a watchdog: the loop itself never ends)")

// Start parses flags, prints the pid, arms the watchdog and starts the
// background goroutines. Call it first in main.
func Start(name string) {
	flag.Parse()
	fmt.Printf("%s: pid %d\n", name, os.Getpid())
	time.AfterFunc(*exitAfter, func() {
		fmt.Printf("%s: watchdog: exiting after %s\n", name, *exitAfter)
		os.Exit(0)
	})
	for i := 0; i < 3; i++ {
		go sleeper(time.Duration(50+25*i) * time.Millisecond)
	}
	requests := make(chan int)
	go blockedReceiver(requests) // nobody ever sends: blocked for good
	ticks := make(chan int)
	go producer(ticks)
	go consumer(ticks)
}

func sleeper(period time.Duration) {
	for {
		time.Sleep(period)
	}
}

func blockedReceiver(requests <-chan int) {
	for r := range requests {
		fmt.Println("request", r)
	}
}

func producer(out chan<- int) {
	for i := 0; ; i++ {
		out <- i
		time.Sleep(20 * time.Millisecond)
	}
}

func consumer(in <-chan int) {
	sum := 0
	for v := range in {
		sum += v
	}
	fmt.Println(sum)
}
