package run

import (
	"context"
	"fmt"
	"path"
	"runtime"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// A panic is a bug in hako, most likely in the parsing of some host's
// answers. Hosts run side by side, and an unrecovered panic in one would
// end every host's run, leaving the others half-applied with nothing
// reported; so each task's Check and Apply, the lockout checks and each
// host's goroutine as a whole turn a panic into a failure of that task or
// host, and the other hosts carry on.

// check is s.Task.Check with a panic turned into the task's error.
func check(host string, s *plan.Step, st *tasks.State, env tasks.Env) (c *tasks.Change, err error) {
	defer recovered(&err, host, "task "+s.Task.Address().String())
	return s.Task.Check(st, env)
}

// apply is s.Task.Apply with a panic turned into the task's error.
func apply(ctx context.Context, host string, s *plan.Step, h hosts.Host, c *tasks.Change) (err error) {
	defer recovered(&err, host, "task "+s.Task.Address().String())
	if c.FromJSON() {
		return fmt.Errorf("a change read back from JSON cannot be applied: it lacks what no output may show (sensitive content, private files, keys); plan again")
	}
	return s.Task.Apply(ctx, h, c)
}

// recovered, deferred, sets *err when the function panics.
func recovered(err *error, host, what string) {
	if v := recover(); v != nil {
		*err = panicError(host, what, v)
	}
}

// panicError says where the panic happened, for the bug report. The
// panic's value is shown only when it is the runtime's own (an index out
// of range, a nil pointer): a value of hako's may quote a probe or a
// command, and so a secret.
func panicError(host, what string, v any) error {
	msg := "panic"
	if re, ok := v.(runtime.Error); ok {
		msg += ": " + re.Error()
	}
	if at := panicSite(); at != "" {
		msg += " in " + at
	}
	return fmt.Errorf("host %s: %s: internal error (a bug in hako, please report it): %s; the other hosts were not affected", host, what, msg)
}

// panicSite is the function and line that panicked: the first frame
// outside the runtime below the panic, called from a deferred function.
func panicSite() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(f.Function, "runtime."):
			// The package's folder and the file: enough to find it, without
			// the builder's paths.
			file := path.Join(path.Base(path.Dir(f.File)), path.Base(f.File))
			return fmt.Sprintf("%s (%s:%d)", f.Function, file, f.Line)
		}
		if !more {
			return ""
		}
	}
}
