// decoy_sha256: a storage scrubber verifies a 32 MB volume against its
// stored per-block checksums, pass after pass, for about 25 s, then
// reports and exits. All the work is one function, scrub, whose loop calls
// SHA-256 on each 64 KB block: on CPU in every sample, never parked, one
// hot loop, one hot leaf (the SHA-256 block function). It looks like a
// spin to a naive detector, but it is legitimate work that progresses (a
// new block every few microseconds, a new pass every ~100 ms) and ends. It
// must give no finding.
//
// loophound:expect none
// loophound:decoy function=main.scrub
package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand"
	"os"
	"time"

	"loophound/samples/common"
)

const blockSize = 64 << 10

// scrub hashes every block of volume, pass after pass until the deadline,
// and returns the number of blocks whose checksum does not match.
func scrub(volume []byte, sums [][32]byte, deadline time.Time) (passes, bad int) {
	for passes = 0; time.Now().Before(deadline); passes++ {
		for b := 0; b < len(sums); b++ {
			sum := sha256.Sum256(volume[b*blockSize : (b+1)*blockSize])
			if !bytes.Equal(sum[:], sums[b][:]) {
				bad++
			}
		}
	}
	return passes, bad
}

func progressLogger(stop <-chan struct{}) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fmt.Println("decoy_sha256: scrubbing")
		}
	}
}

func main() {
	common.Start("decoy_sha256")
	volume := make([]byte, 32<<20)
	rand.New(rand.NewSource(7)).Read(volume)
	sums := make([][32]byte, len(volume)/blockSize)
	for b := range sums {
		sums[b] = sha256.Sum256(volume[b*blockSize : (b+1)*blockSize])
	}
	stop := make(chan struct{})
	go progressLogger(stop)
	done := make(chan struct{})
	go func() {
		passes, bad := scrub(volume, sums, time.Now().Add(25*time.Second))
		fmt.Printf("decoy_sha256: %d passes, %d bad blocks\n", passes, bad)
		close(done)
	}()
	<-done
	close(stop)
	os.Exit(0)
}
