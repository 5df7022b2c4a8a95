// goroutine_ids: goroutines with distinct roles that each print their own
// goroutine id, the id of the goroutine that started them and their role,
// so a test can check the ids, creation sites and states a recording names
// against what the program itself says. Each `go` statement carries a
// trailing loophound:go marker naming its role, so the test reads the
// statement's line from the source instead of hard-coding it.
//
// Every goroutine announces itself with one fmt.Println (one write to
// stdout), so lines stay whole when several goroutines print at once.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"loophound/samples/common"
)

// goid is the current goroutine's id, parsed from the first line of its
// stack dump, "goroutine N [running]:": the runtime offers no other way.
func goid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	line := strings.TrimPrefix(string(buf[:n]), "goroutine ")
	if i := strings.IndexByte(line, ' '); i >= 0 {
		line = line[:i]
	}
	id, err := strconv.ParseInt(line, 10, 64)
	if err != nil {
		panic("cannot parse the goroutine id from runtime.Stack: " + err.Error())
	}
	return id
}

// announce prints the line the test reads, and returns the caller's id for
// the goroutines it starts.
func announce(role string, parent int64) int64 {
	self := goid()
	fmt.Println("role=" + role + " goid=" + strconv.FormatInt(self, 10) + " parent=" + strconv.FormatInt(parent, 10))
	return self
}

// sink keeps the spinner's arithmetic alive: the compiler cannot drop a
// loop whose result is stored where others may read it.
var sink uint64

// spinner stays on CPU: no calls, no channel, no sleep in the hot loop,
// so nearly every CPU sample of the process that is not idle lands here.
func spinner(parent int64) {
	announce("spinner", parent)
	x := uint64(1)
	for {
		for i := 0; i < 1000000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		atomic.StoreUint64(&sink, x)
	}
}

// sleeper alternates between waiting (reason "sleep") and running.
func sleeper(parent int64) {
	announce("sleeper", parent)
	for {
		time.Sleep(10 * time.Millisecond)
	}
}

// receiver waits on the channel (reason "chan receive") between messages.
func receiver(parent int64, in <-chan int) {
	announce("receiver", parent)
	sum := 0
	for v := range in {
		sum += v
	}
	fmt.Println(sum)
}

func sender(parent int64, out chan<- int) {
	announce("sender", parent)
	for i := 0; ; i++ {
		out <- i
		time.Sleep(10 * time.Millisecond)
	}
}

// child is short-lived: ~1 ms of work, then it returns, so a recording
// sees it created and exit.
func child(parent int64) {
	announce("child", parent)
	start := time.Now()
	x := uint64(1)
	for time.Since(start) < time.Millisecond {
		x = x*6364136223846793005 + 1442695040888963407
	}
	atomic.StoreUint64(&sink, x)
}

func spawner(parent int64) {
	self := announce("spawner", parent)
	for {
		go child(self) // loophound:go role=child
		time.Sleep(50 * time.Millisecond)
	}
}

func main() {
	common.Start("goroutine_ids")
	fmt.Println("pid=" + strconv.Itoa(os.Getpid()))
	self := announce("main", 0)
	messages := make(chan int)
	go spinner(self)            // loophound:go role=spinner
	go sleeper(self)            // loophound:go role=sleeper
	go receiver(self, messages) // loophound:go role=receiver
	go sender(self, messages)   // loophound:go role=sender
	go spawner(self)            // loophound:go role=spawner
	for {
		time.Sleep(time.Second)
	}
}
