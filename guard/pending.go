package guard

import (
	_ "embed" // pending.sh
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hako-dev/hako/probe"
)

// Pending asks the host for the guards armed by earlier runs that have
// not run their rollback, and the host's clock: such a guard still
// restores the files as they were before ITS run when it fires. It is a
// probe request; its answer is a []PendingGuard.
type Pending struct {
	Dir string // where the guards are; empty: BaseDir
}

// PendingGuard is an armed guard on the host.
type PendingGuard struct {
	ID       string
	Deadline time.Time // when the rollback fires
	Now      time.Time // the host's clock when probed
}

//go:embed pending.sh
var pendingFunc string

func (p Pending) Call() (probe.Func, []string) {
	dir := p.Dir
	if dir == "" {
		dir = BaseDir
	}
	return probe.Func{Name: "guard_pending", Source: pendingFunc}, []string{dir}
}

func (Pending) Describe() string { return "the pending guards probe" }

// Decode reads the guards; a line it cannot read (a guard half-written,
// a date the host could not parse) is skipped.
func (Pending) Decode(recs []probe.Record) (any, error) {
	var out []PendingGuard
	for _, r := range recs {
		if r.Field != "guard" {
			continue
		}
		if g, ok := parsePending(string(r.Value)); ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// parsePending reads "ID ARMED_EPOCH TIMEOUT_MS NOW_EPOCH"; a negative
// timeout makes the line unreadable.
func parsePending(s string) (PendingGuard, bool) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return PendingGuard{}, false
	}
	armed, err1 := strconv.ParseInt(f[1], 10, 64)
	ms, err2 := strconv.ParseInt(f[2], 10, 64)
	now, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || ms < 0 {
		return PendingGuard{}, false
	}
	// A timeout longer than a Duration holds (292 years) is the longest
	// one: multiplied out it would wrap around to a deadline long past, and
	// a guard that still waits would look stale (arm.sh, reading the same
	// file, counts it as waiting).
	timeout := time.Duration(math.MaxInt64)
	if ms <= math.MaxInt64/int64(time.Millisecond) {
		timeout = time.Duration(ms) * time.Millisecond
	}
	return PendingGuard{ID: f[0], Deadline: time.Unix(armed, 0).Add(timeout), Now: time.Unix(now, 0)}, true
}
