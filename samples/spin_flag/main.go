// spin_flag: a goroutine spins on a plain bool that another goroutine is
// meant to set. The setter waits for a configuration that never arrives, so
// the spinner burns a whole CPU forever (and, being a data race, it might
// spin even after the store: nothing makes it observe the write).
//
// loophound:expect kind=spin function=main.waitForReady
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
