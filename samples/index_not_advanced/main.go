// index_not_advanced: a config tokenizer's step function handles one token
// or one blank per call, and its tab branch updates the column but forgets
// to advance the position. The first tab in the input stops all progress:
// tokenize calls step on the same byte forever. The loop is in the caller
// (main.(*tokenizer).tokenize, which the compiler inlines into loadConfig)
// while the samples' leaf is mostly step and the map update it does for
// statistics (runtime map code): the deepest frame that stays inside one
// loop is the one to report. Models parser and
// scanner loops with a branch that does not consume input.
//
// loophound:expect kind=spin function=main.(*tokenizer).tokenize
package main

import (
	"fmt"
	"strings"
	"time"

	"loophound/samples/common"
)

type tokenizer struct {
	src    string
	pos    int
	col    int
	tokens []string
	counts map[byte]int // how often each byte class was seen, for error messages
}

func isIdent(c byte) bool {
	return c == '_' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// step consumes one token, or one blank, at t.pos.
func (t *tokenizer) step() {
	c := t.src[t.pos]
	t.counts[c]++
	switch {
	case c == ' ':
		t.pos++
		t.col++
	case c == '\n':
		t.pos++
		t.col = 0
	case c == '\t':
		t.col += 8 - t.col%8 // the bug: t.pos is not advanced
	case isIdent(c):
		start := t.pos
		for t.pos < len(t.src) && isIdent(t.src[t.pos]) {
			t.pos++
		}
		t.tokens = append(t.tokens, t.src[start:t.pos])
		t.col += t.pos - start
	default:
		t.tokens = append(t.tokens, string(c))
		t.pos++
		t.col++
	}
}

func (t *tokenizer) tokenize() []string {
	for t.pos < len(t.src) { // loophound:loop
		t.step()
	}
	return t.tokens
}

const config = `listen = 0.0.0.0:8080
workers = 4
[cache]
	size = 512
	ttl = 30
`

func loadConfig(done chan<- []string) {
	t := &tokenizer{src: config, counts: map[byte]int{}}
	done <- t.tokenize()
}

func reloadOnSignal(signals <-chan string) {
	for s := range signals {
		fmt.Println("reload on", strings.ToLower(s))
	}
}

func main() {
	common.Start("index_not_advanced")
	done := make(chan []string)
	go reloadOnSignal(make(chan string))
	go loadConfig(done)
	select {
	case toks := <-done: // never
		fmt.Println("tokens:", toks)
	case <-time.After(24 * time.Hour):
	}
}
