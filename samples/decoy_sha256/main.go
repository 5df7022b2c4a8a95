// decoy_sha256: a storage scrubber verifies a large volume against its
// stored per-block checksums in one pass that takes about 25 s (the block
// count is sized at start from a short timing run), then reports and
// exits. The volume is modelled by 32 MB of random blocks that repeat. All
// the work is one function, scrub, whose loop calls SHA-256 on each 64 KB
// block: on CPU in every sample, never parked, one hot loop, one hot leaf
// (the SHA-256 block function). It looks like a spin to a naive detector,
// but it is legitimate work that progresses (a new block every few tens of
// microseconds, toward a known last block) and ends. It must give no
// finding.
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

// scrub hashes blocks [0, blocks) of the volume (block b is stored as
// block b % len(sums) of the model) and returns how many do not match
// their checksum.
func scrub(volume []byte, sums [][32]byte, blocks int) (bad int) {
	for b := 0; b < blocks; b++ {
		m := b % len(sums)
		sum := sha256.Sum256(volume[m*blockSize : (m+1)*blockSize])
		if !bytes.Equal(sum[:], sums[m][:]) {
			bad++
		}
	}
	return bad
}

// blocksFor returns how many blocks take about d to scrub on this machine.
func blocksFor(volume []byte, sums [][32]byte, d time.Duration) int {
	const probe = 64
	start := time.Now()
	scrub(volume, sums, probe)
	took := time.Since(start)
	if took <= 0 {
		took = time.Millisecond
	}
	return int(float64(probe) * float64(d) / float64(took))
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
	blocks := blocksFor(volume, sums, 25*time.Second)
	go func() {
		bad := scrub(volume, sums, blocks)
		fmt.Printf("decoy_sha256: %d blocks, %d bad\n", blocks, bad)
		close(done)
	}()
	<-done
	close(stop)
	os.Exit(0)
}
