// decoy_json: an API gateway's cache warmer encodes and decodes large JSON
// documents (a catalog of 20,000 products) with encoding/json, over and
// over for about 25 s, then exits. The time goes to reflection-driven
// encoding and decoding in the standard library, with plenty of
// allocation (and so GC work on other goroutines): busy, but every round
// finishes. It must give no finding.
//
// loophound:expect none
// loophound:decoy function=main.roundTrip
package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strconv"
	"time"

	"loophound/samples/common"
)

type product struct {
	ID      int               `json:"id"`
	Name    string            `json:"name"`
	Price   float64           `json:"price"`
	Tags    []string          `json:"tags"`
	Attrs   map[string]string `json:"attrs"`
	InStock bool              `json:"in_stock"`
}

func catalog(r *rand.Rand, n int) []product {
	out := make([]product, n)
	for i := range out {
		out[i] = product{
			ID:      i,
			Name:    "product-" + strconv.Itoa(r.Int()),
			Price:   float64(r.Intn(100000)) / 100,
			Tags:    []string{"tag" + strconv.Itoa(r.Intn(50)), "tag" + strconv.Itoa(r.Intn(50))},
			Attrs:   map[string]string{"color": strconv.Itoa(r.Intn(10)), "size": strconv.Itoa(r.Intn(5))},
			InStock: r.Intn(2) == 0,
		}
	}
	return out
}

func roundTrip(items []product) (int, error) {
	doc, err := json.Marshal(items)
	if err != nil {
		return 0, err
	}
	var back []product
	if err := json.Unmarshal(doc, &back); err != nil {
		return 0, err
	}
	return len(doc), nil
}

func warm(d time.Duration, done chan<- string) {
	items := catalog(rand.New(rand.NewSource(5)), 20000)
	rounds, total := 0, 0
	for deadline := time.Now().Add(d); time.Now().Before(deadline); rounds++ {
		n, err := roundTrip(items)
		if err != nil {
			panic(err)
		}
		total += n
	}
	done <- fmt.Sprintf("%d rounds, %d bytes", rounds, total)
}

func requestHandler(requests <-chan string) {
	for r := range requests {
		fmt.Println("request", r)
	}
}

func main() {
	common.Start("decoy_json")
	go requestHandler(make(chan string))
	done := make(chan string)
	go warm(25*time.Second, done)
	fmt.Println("decoy_json:", <-done)
}
