package bench

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/hako-dev/hako/bench/results"
)

// Result is one measured case; see package results.
type Result = results.Result

// record appends r to the file HAKO_BENCH_RESULTS names (one JSON object a
// line), from which `make bench` writes bench/RESULTS.md; without it, the
// benchmark's printed line is all there is.
func record(t testing.TB, r Result) {
	t.Helper()
	file := os.Getenv("HAKO_BENCH_RESULTS")
	if file == "" {
		return
	}
	line, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
}

// timeMedian is the median duration of n calls of f.
func timeMedian(n int, f func()) time.Duration {
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		f()
		d[i] = time.Since(start)
	}
	return median(d)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// withTarget sets r's target: hako at most max times its floor.
func withTarget(r Result, max float64) Result {
	r.MaxRatio = max
	r.Judge()
	return r
}
