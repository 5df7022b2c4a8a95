// deep_recursion: configuration profiles inherit from each other
// ("extends"), and effective() resolves a profile by first resolving its
// parent. Someone made the chain circular (edge -> regional -> global ->
// edge), and the resolver keeps no visited set, so the recursion never
// reaches a profile without a parent. Each level parses its profile (about
// a millisecond of CPU), so the stack grows slowly, by a thousand or so
// small frames a second: the program stays alive for minutes (Go's default
// maximum stack is 1 GB) instead of crashing at once, which is what such a
// bug looks like while it is being investigated: a goroutine at 100% of a
// CPU whose stack keeps deepening with the same frame repeated.
//
// There is no `for` here: the loop marker is on the line of the
// recursive call, which is where the cycle closes.
//
// loophound:expect kind=recursion function=main.(*resolver).effective
package main

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"loophound/samples/common"
)

type profile struct {
	extends string
	body    string
}

type settings struct {
	digest uint64
	keys   int
	depth  int
}

type resolver struct {
	profiles map[string]profile
	deepest  int64 // read by the progress reporter
}

// parse stands for reading a profile's key = value lines.
func parse(body string) settings {
	var s settings
	h := uint64(14695981039346656037)
	for round := 0; round < 48; round++ {
		for i := 0; i < len(body); i++ {
			h = (h ^ uint64(body[i])) * 1099511628211
		}
	}
	s.digest = h
	s.keys = strings.Count(body, "=")
	return s
}

func merge(base, own settings) settings {
	return settings{digest: base.digest ^ own.digest, keys: base.keys + own.keys, depth: base.depth + 1}
}

func (r *resolver) effective(name string, depth int) settings {
	p := r.profiles[name]
	own := parse(p.body)
	if int64(depth) > atomic.LoadInt64(&r.deepest) {
		atomic.StoreInt64(&r.deepest, int64(depth))
	}
	if p.extends == "" {
		return own
	}
	base := r.effective(p.extends, depth+1) // loophound:loop
	return merge(base, own)
}

func profileBody(name string) string {
	var b strings.Builder
	for i := 0; i < 160; i++ {
		fmt.Fprintf(&b, "%s.key%d = value%d\n", name, i, i*i)
	}
	return b.String()
}

func watchProfiles(changes <-chan string) {
	for c := range changes {
		fmt.Println("profile changed:", c)
	}
}

func main() {
	common.Start("deep_recursion")
	r := &resolver{profiles: map[string]profile{
		"edge":     {extends: "regional", body: profileBody("edge")},
		"regional": {extends: "global", body: profileBody("regional")},
		"global":   {extends: "edge", body: profileBody("global")}, // the bug: closes the cycle
	}}
	go watchProfiles(make(chan string))
	result := make(chan settings)
	go func() { result <- r.effective("edge", 0) }()
	go func() {
		for {
			time.Sleep(10 * time.Second)
			fmt.Println("deep_recursion: depth", atomic.LoadInt64(&r.deepest))
		}
	}()
	fmt.Println("settings:", <-result) // never
}
