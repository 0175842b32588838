// Package fuzzbound bounds the time one input of a fuzz target may take.
//
// Go's fuzzer has no timeout per input: an input that never returns stalls
// the worker until -fuzztime runs out, and the run then passes without
// naming it. A hang is a bug as much as a panic is (a parser of host output
// that loops keeps hako busy forever), so Start crashes the process when an
// input takes too long; the fuzzer then keeps that input as a failing case
// in testdata/fuzz, like any panic.
package fuzzbound

import (
	"fmt"
	"time"
)

// Bound is how long one input may take: far more than any input of a
// fuzzer's size needs, also under -race on a loaded machine, and far less
// than a runaway loop.
const Bound = 20 * time.Second

// Start begins the bound for one input; call the returned stop when the
// input is done (defer it).
func Start() (stop func()) {
	start := time.Now()
	timer := time.AfterFunc(Bound, func() {
		// A panic outside the test's goroutine ends the process: the
		// fuzzer records the input that was running.
		panic(fmt.Sprintf("fuzzbound: one input took more than %v (started %s)", Bound, start.Format(time.TimeOnly)))
	})
	return func() { timer.Stop() }
}
