// decoy_flate: a backup agent compresses and re-reads (decompresses and
// compares) 8 MB archives with compress/flate at the best compression
// level, one after another for about 25 s, then exits. The hot code is the
// deflate match finder and the inflate decoder: CPU-bound, deep in the
// standard library, never parked for long, always progressing. It must
// give no finding.
//
// loophound:expect none
// loophound:decoy function=main.compressArchive function=main.verifyArchive
package main

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand"
	"time"

	"loophound/samples/common"
)

// logLike makes compressible text: repeated words with random numbers.
func logLike(r *rand.Rand, n int) []byte {
	words := []string{"GET", "POST", "/api/v1/items", "/healthz", "200", "404", "user", "took", "ms"}
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "%s %s %d %s=%d\n", words[r.Intn(len(words))], words[r.Intn(len(words))], r.Intn(100000), words[r.Intn(len(words))], r.Intn(5000))
	}
	return b.Bytes()[:n]
}

func compressArchive(data []byte) []byte {
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	w.Write(data)
	w.Close()
	return out.Bytes()
}

func verifyArchive(archive, want []byte) bool {
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(archive)))
	return err == nil && bytes.Equal(got, want)
}

func backup(d time.Duration, done chan<- string) {
	r := rand.New(rand.NewSource(11))
	archives, bytesIn, bytesOut := 0, 0, 0
	for deadline := time.Now().Add(d); time.Now().Before(deadline); archives++ {
		data := logLike(r, 8<<20)
		archive := compressArchive(data)
		if !verifyArchive(archive, data) {
			panic("archive does not round-trip")
		}
		bytesIn += len(data)
		bytesOut += len(archive)
	}
	done <- fmt.Sprintf("%d archives, %d -> %d bytes", archives, bytesIn, bytesOut)
}

func scheduler(tick time.Duration) {
	for {
		time.Sleep(tick)
	}
}

func main() {
	common.Start("decoy_flate")
	go scheduler(300 * time.Millisecond)
	done := make(chan string)
	go backup(25*time.Second, done)
	fmt.Println("decoy_flate:", <-done)
}
