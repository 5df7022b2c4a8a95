// uint8_overflow: a 256-entry lookup table indexed by a byte is filled with
// `for b := byte(0); b <= 255; b++`. A byte is always <= 255: after 255 it
// wraps to 0 and the table is filled again, and again, forever. Models
// loops over the whole range of a small unsigned type (uint8, uint16)
// whose bound can never fail.
//
// Go 1.26's compiler sees the loop never ends, so the table is never read
// and its stores are dropped: the machine code has no way out and changes
// nothing, which is no_progress ("cannot terminate"). Older compilers keep
// the stores: a spin.
//
// loophound:expect kind=no_progress|spin function=main.buildCRCTable
package main

import (
	"fmt"
	"time"

	"loophound/samples/common"
)

const poly = 0xedb88320

func buildCRCTable() *[256]uint32 {
	var table [256]uint32
	for b := byte(0); b <= 255; b++ { // loophound:loop
		c := uint32(b)
		for k := 0; k < 8; k++ {
			if c&1 != 0 {
				c = poly ^ (c >> 1)
			} else {
				c >>= 1
			}
		}
		table[b] = c
	}
	return &table
}

func checksummer(data <-chan []byte, sums chan<- uint32) {
	table := buildCRCTable()
	for d := range data {
		crc := ^uint32(0)
		for _, x := range d {
			crc = table[byte(crc)^x] ^ (crc >> 8)
		}
		sums <- ^crc
	}
}

func uploader(done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-time.After(150 * time.Millisecond):
		}
	}
}

func main() {
	common.Start("uint8_overflow")
	data, sums := make(chan []byte), make(chan uint32)
	go uploader(make(chan struct{}))
	go checksummer(data, sums)
	data <- []byte("hello")
	fmt.Println("crc:", <-sums) // never
}
