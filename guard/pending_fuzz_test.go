package guard

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/fuzzbound"
	"github.com/hako-dev/hako/probe"
)

// FuzzPending reads any "guard" record of the pending probe: no panic; a
// guard read from "ID ARMED_EPOCH TIMEOUT_MS NOW_EPOCH" has those values,
// its deadline never before it was armed (a wrapped-around deadline would
// make a waiting guard look long past, and its refusal vanish); a line it
// cannot read is skipped.
func FuzzPending(f *testing.F) {
	f.Add("20261126T084123-aaaa 1764146483 600000 1764146543")
	f.Add("a 1000 600000 1100")
	f.Add("x - 600000 1")
	f.Add("a 1 2")
	f.Fuzz(func(t *testing.T, line string) {
		defer fuzzbound.Start()()
		v, err := Pending{}.Decode([]probe.Record{{Field: "scanned"}, {Field: "guard", Value: []byte(line)}})
		if err != nil {
			t.Fatal(err)
		}
		gs := v.([]PendingGuard)
		w := strings.Fields(line)
		if len(gs) == 0 {
			return
		}
		if len(gs) != 1 || len(w) != 4 || gs[0].ID != w[0] {
			t.Fatalf("%q read as %+v", line, gs)
		}
		g := gs[0]
		armed, err1 := strconv.ParseInt(w[1], 10, 64)
		ms, err2 := strconv.ParseInt(w[2], 10, 64)
		now, err3 := strconv.ParseInt(w[3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("%q read as %+v, but its numbers do not parse", line, g)
		}
		at := time.Unix(armed, 0)
		if g.Deadline.Before(at) {
			t.Errorf("%q: deadline %v before the guard was armed (%v)", line, g.Deadline, at)
		}
		if d := g.Deadline.Sub(at); d < time.Duration(1<<62) && d != time.Duration(ms)*time.Millisecond {
			t.Errorf("%q: deadline %v after arming, want %d ms", line, d, ms)
		}
		if !g.Now.Equal(time.Unix(now, 0)) {
			t.Errorf("%q: now %v", line, g.Now)
		}
	})
}
