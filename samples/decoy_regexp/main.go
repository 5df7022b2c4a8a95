// decoy_regexp: a log analyzer scans a large log with a handful of regular
// expressions, counting matches and extracting fields, in one pass that
// takes about 25 s (the line count is sized at start from a short timing
// run), then exits. The log is modelled by 200,000 generated lines that
// repeat. The hot code is the regexp engine's matchers (backtracker / NFA)
// called from one scanning loop: busy, but always on the next line, toward
// the last. It must give no finding.
//
// loophound:expect none
// loophound:decoy function=main.scan
package main

import (
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"time"

	"loophound/samples/common"
)

var (
	requestRE = regexp.MustCompile(`^(\d+-\d+-\d+T[\d:.]+Z) (GET|POST|PUT) (/[\w/.-]*) (\d{3}) (\d+)ms$`)
	errorRE   = regexp.MustCompile(`(?i)error|timeout|refused`)
	userRE    = regexp.MustCompile(`user=([a-z]+)@([a-z]+\.[a-z]{2,})`)
)

func makeLog(r *rand.Rand, n int) []string {
	methods := []string{"GET", "POST", "PUT"}
	paths := []string{"/api/v1/items", "/api/v1/users/42", "/healthz", "/static/app.js"}
	lines := make([]string, n)
	for i := range lines {
		switch r.Intn(4) {
		case 0:
			lines[i] = fmt.Sprintf("worker %d: timeout talking to db user=alice@example.org", r.Intn(64))
		default:
			lines[i] = fmt.Sprintf("2024-05-%02dT12:%02d:%02d.%03dZ %s %s %d %dms", 1+r.Intn(28), r.Intn(60), r.Intn(60), r.Intn(1000),
				methods[r.Intn(3)], paths[r.Intn(len(paths))], 200+100*r.Intn(4), r.Intn(900))
		}
	}
	return lines
}

type counts struct{ requests, errors, users, slow int }

// scan reads lines [0, n) of the log (line i is line i % len(lines) of the
// model).
func scan(lines []string, n int, c *counts) {
	for i := 0; i < n; i++ {
		line := lines[i%len(lines)]
		if m := requestRE.FindStringSubmatch(line); m != nil {
			c.requests++
			if len(m[5]) >= 3 {
				c.slow++
			}
		}
		if errorRE.MatchString(line) {
			c.errors++
		}
		if strings.Contains(line, "user=") && userRE.MatchString(line) {
			c.users++
		}
	}
}

func analyze(d time.Duration, done chan<- counts) {
	lines := makeLog(rand.New(rand.NewSource(9)), 200000)
	// How many lines take about d on this machine.
	const probe = 20000
	start := time.Now()
	scan(lines, probe, &counts{})
	took := time.Since(start)
	if took <= 0 {
		took = time.Millisecond
	}
	var c counts
	scan(lines, int(float64(probe)*float64(d)/float64(took)), &c)
	done <- c
}

func tail(newLines <-chan string) {
	for l := range newLines {
		fmt.Println(l)
	}
}

func main() {
	common.Start("decoy_regexp")
	go tail(make(chan string))
	done := make(chan counts)
	go analyze(25*time.Second, done)
	fmt.Printf("decoy_regexp: %+v\n", <-done)
}
