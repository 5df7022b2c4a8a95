// spin_arith: a proof-of-work style search that can never succeed. A
// "difficulty" meant as 16 leading zero bits is passed as 64 (the config
// gives bytes*8 twice), so findNonce looks for a nonce whose 64-bit mix is
// exactly zero; a 2^-64 chance per try never happens. The loop is pure
// arithmetic in one named function: the mix helper is inlined, nothing is
// called, nothing blocks. Models hash-chain or search loops whose target
// is unreachable because of a unit or off-by-factor bug.
//
// loophound:expect kind=spin function=main.findNonce
package main

import (
	"fmt"
	"time"

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

// findNonce returns the first nonce whose mix with seed has `difficulty`
// leading zero bits.
func findNonce(seed uint64, difficulty uint) uint64 {
	nonce := uint64(0)
	for mix(seed^nonce)>>(64-difficulty) != 0 { // loophound:loop
		nonce++
	}
	return nonce
}

func miner(blocks <-chan uint64, found chan<- uint64, difficulty uint) {
	for seed := range blocks {
		found <- findNonce(seed, difficulty)
	}
}

func peerGossip(peers chan string) {
	for p := range peers { // idle: no peers ever announced
		fmt.Println("peer", p)
	}
}

func main() {
	common.Start("spin_arith")
	blocks, found := make(chan uint64), make(chan uint64)
	go peerGossip(make(chan string))
	go miner(blocks, found, 8*8) // the bug: 64 bits instead of 16
	blocks <- 0x5eed
	fmt.Println("nonce:", <-found) // never arrives
}
