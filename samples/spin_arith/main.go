// spin_arith: a proof-of-work style search that can never succeed. The
// difficulty, meant as 16 leading zero bits, is configured as 8 (bytes)
// and converted to bits, 64, so findNonce looks for a nonce whose 64-bit
// hash is exactly zero: a 2^-64 chance per try, which never happens. The
// loop is pure arithmetic in one named function that is not inlined (the
// mix helper is inlined into it): nothing is called, nothing blocks.
// Models hash-chain or search loops whose target is unreachable because of
// a unit or off-by-factor bug.
//
// loophound:expect kind=spin function=main.findNonce
package main

import (
	"fmt"

	"loophound/samples/common"
)

// mix is splitmix64's finalizer: a bijection, cheap and well spread.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

type header struct {
	prev, root uint64
	time       int64
}

// findNonce returns the first nonce for which the block's hash has
// `difficulty` leading zero bits.
func findNonce(h *header, difficulty uint) uint64 {
	base := mix(h.prev) ^ mix(h.root+uint64(h.time))
	nonce := uint64(0)
	for mix(base^mix(nonce))>>(64-difficulty) != 0 { // loophound:loop
		nonce++
	}
	return nonce
}

func miner(blocks <-chan header, found chan<- uint64, difficulty uint) {
	for b := range blocks {
		found <- findNonce(&b, difficulty)
	}
}

func peerGossip(peers chan string) {
	for p := range peers { // idle: no peers ever announced
		fmt.Println("peer", p)
	}
}

func main() {
	common.Start("spin_arith")
	blocks, found := make(chan header), make(chan uint64)
	go peerGossip(make(chan string))
	go miner(blocks, found, 8*8) // the bug: 8 "bytes" of zeros, 64 bits, instead of 16 bits
	blocks <- header{prev: 0x5eed, root: 0xfeed, time: 1700000000}
	fmt.Println("nonce:", <-found) // never arrives
}
