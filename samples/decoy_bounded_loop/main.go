// decoy_bounded_loop: a numerical job integrates 4/(1+x^2) over [0,1] (pi)
// with the midpoint rule over billions of steps in one tight loop that
// calls nothing: for its whole run it is indistinguishable, by where its
// samples land, from an endless spin. But the loop is bounded and
// finishes after about 25 s (the step count is sized at start from a short
// timing run, so it is long on fast and slow machines alike), then the
// program exits. Telling it from a stuck loop needs evidence of progress
// (the induction variable and the sum change on every sample), not
// position alone. It must give no finding.
//
// loophound:expect none
// loophound:decoy function=main.integrate
package main

import (
	"fmt"
	"time"

	"loophound/samples/common"
)

func integrate(steps int64) float64 {
	h := 1 / float64(steps)
	sum := 0.0
	for i := int64(0); i < steps; i++ {
		x := (float64(i) + 0.5) * h
		sum += 4 / (1 + x*x)
	}
	return sum * h
}

// probeResult keeps the timing run's result alive: were it discarded, the
// compiler would drop the loop's arithmetic and time an empty loop (about
// 4x faster), sizing the real run far too long.
var probeResult float64

// stepsFor returns how many steps take about d on this machine.
func stepsFor(d time.Duration) int64 {
	const probe = 20000000
	start := time.Now()
	probeResult = integrate(probe)
	took := time.Since(start)
	if took <= 0 {
		took = time.Millisecond
	}
	return int64(float64(probe) * float64(d) / float64(took))
}

func heartbeat(every time.Duration) {
	for {
		time.Sleep(every)
	}
}

func main() {
	common.Start("decoy_bounded_loop")
	go heartbeat(500 * time.Millisecond)
	steps := stepsFor(25 * time.Second)
	done := make(chan float64)
	go func() { done <- integrate(steps) }()
	fmt.Printf("decoy_bounded_loop: %d steps, pi ~ %.12f\n", steps, <-done)
}
