// retry_dial: a client reconnects to its backend in a loop without any
// backoff: on error it dials again at once. The backend is down (nothing
// listens on 127.0.0.1:1), so each connect is refused immediately and the
// loop spins through dial after dial, forever.
//
// Kind busy_poll: unlike a failing open(2), a TCP dial in Go is a
// non-blocking connect(2) that returns EINPROGRESS, after which the
// goroutine parks in the network poller until the refusal arrives (at once,
// on loopback) and is made runnable again. Every round therefore goes
// running -> waiting (IO wait) -> runnable -> running through the
// scheduler at the same call site: a busy poll, not a spin.
//
// loophound:expect kind=busy_poll function=main.(*client).reconnect
package main

import (
	"fmt"
	"net"
	"time"

	"loophound/samples/common"
)

type client struct {
	addr     string
	conn     net.Conn
	failures int
	lastErr  error
}

func (c *client) reconnect() {
	for c.conn == nil { // loophound:loop
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			c.failures++
			c.lastErr = err
			continue // retry immediately: the bug (no backoff)
		}
		c.conn = conn
	}
}

func (c *client) run(requests <-chan string) {
	c.reconnect()
	for r := range requests {
		fmt.Fprintln(c.conn, r)
	}
}

func metrics(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
	}
}

func main() {
	common.Start("retry_dial")
	c := &client{addr: "127.0.0.1:1"}
	go metrics(250 * time.Millisecond)
	go c.run(make(chan string))
	for {
		time.Sleep(time.Second)
	}
}
