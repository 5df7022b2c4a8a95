// retry_open: a TLS server waits for its certificate to appear by reading
// the file in a loop with no delay between attempts ("the deploy step
// writes it in a moment"). The path is wrong, so every os.ReadFile fails at
// once with ENOENT and the loop retries immediately, forever.
//
// Kind spin, not busy_poll: a failing open(2) is a synchronous system call
// that returns straight away. The goroutine enters and leaves the syscall
// without parking and without going through the scheduler, so it stays on
// CPU in (nearly) every sample, just as a pure computation would. What
// makes it hard is where the samples land: in the kernel, in the syscall
// wrappers, in the allocator building the *PathError, in fmt: the leaf
// varies while one caller frame, main.loadCertificate, stays in its loop.
//
// loophound:expect kind=busy_poll function=main.loadCertificate
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"loophound/samples/common"
)

var attempts, notFound int

func loadCertificate(path string) []byte {
	for { // loophound:loop
		data, err := os.ReadFile(path)
		attempts++
		if err == nil {
			return data
		}
		if errors.Is(err, fs.ErrNotExist) {
			notFound++
			continue // "not written yet": retry at once
		}
		fmt.Println("cannot read certificate:", err)
	}
}

func serve(certPath string, ready chan<- []byte) {
	ready <- loadCertificate(certPath)
}

func acceptLoop(conns <-chan int) {
	for c := range conns {
		fmt.Println("connection", c)
	}
}

func main() {
	common.Start("retry_open")
	ready := make(chan []byte)
	go acceptLoop(make(chan int))
	go serve("/nonexistent/loophound/tls/server.pem", ready)
	fmt.Println("certificate:", len(<-ready)) // never
}
