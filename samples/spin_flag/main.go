// spin_flag: a goroutine spins on a plain bool that another goroutine is
// meant to set. The setter waits for a configuration that never arrives, so
// the spinner burns a whole CPU forever (and, being a data race, it might
// spin even after the store: nothing makes it observe the write).
//
// The loop neither stores nor calls, and the recorded registers (on by
// default) are the same at every sample: no_progress, "cannot terminate".
// Recorded with --no-regs it is reported as a spin.
//
// loophound:expect kind=no_progress function=main.waitForReady
package main

import (
	"fmt"
	"time"

	"loophound/samples/common"
)

var ready bool // plain bool, no atomics: the bug

func waitForReady() {
	for !ready { // loophound:loop
	}
	fmt.Println("ready")
}

func loadConfig(config <-chan string) {
	fmt.Println("config:", <-config) // never sent
	ready = true
}

func main() {
	common.Start("spin_flag")
	go loadConfig(make(chan string))
	go waitForReady()
	for {
		time.Sleep(time.Second)
	}
}
