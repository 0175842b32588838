package report

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/hako-dev/hako/run"
)

// ApplyView shows an apply as it happens and its closing recap.
type ApplyView interface {
	run.Reporter
	Recap(recaps []*run.Recap)
}

// Progress prints one line per task as apply completes it, and the recap.
type Progress struct {
	w     io.Writer
	st    Style
	width int // host name column
	mu    sync.Mutex
}

// NewProgress prints apply progress to w for the given host names.
func NewProgress(w io.Writer, st Style, hostNames []string) *Progress {
	return &Progress{w: w, st: st, width: nameWidth(hostNames)}
}

func nameWidth(names []string) int {
	n := 0
	for _, h := range names {
		n = max(n, len(h))
	}
	return n
}

var statusColor = map[run.Status]string{run.OK: green, run.Changed: yellow, run.Failed: red, run.Skipped: cyan}

// Result prints one task's outcome.
func (p *Progress) Result(r run.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := r.Step.Task.Address().String()
	if r.Handler {
		name = "handler " + r.Step.Task.Address().Name
	}
	line := fmt.Sprintf("%-*s  %s  %s", p.width, r.Host, p.st.paint(statusColor[r.Status], fmt.Sprintf("%-7s", r.Status)), name)
	if r.Change != nil && r.Status == run.Changed && r.Change.Summary != "" {
		line += ": " + r.Change.Summary
	}
	if r.Err != nil {
		line += ": " + indentRest(r.Err.Error())
	}
	fmt.Fprintln(p.w, line)
}

// Note prints a message about a host.
func (p *Progress) Note(host, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%-*s  %s\n", p.width, host, p.st.paint(bold, "note: "+msg))
}

// Warning prints a warning about a host (preflight's lockout checks').
func (p *Progress) Warning(host, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%-*s  %s %s\n", p.width, host, p.st.paint(yellow, "warning:"), msg)
}

func indentRest(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
}

// Recap prints the closing lines (see the function Recap).
func (p *Progress) Recap(recaps []*run.Recap) { Recap(p.w, recaps, p.st) }

// Recap prints the closing lines: one per host, in exactly the shape
// `pi  ok=3 changed=2 failed=0 skipped=1` (unpadded, so scripts can rely
// on it), after any host errors.
func Recap(w io.Writer, recaps []*run.Recap, st Style) {
	for _, r := range recaps {
		if r.Unreachable != nil {
			// Indented continuation lines keep a long error (a changed host
			// key's advice) visibly one host's among several hosts' errors.
			fmt.Fprintf(w, "%s %s\n", st.paint(red, "error:"), indentRest(r.Unreachable.Error()))
		}
	}
	fmt.Fprintln(w)
	for _, r := range recaps {
		fmt.Fprintf(w, "%s  ok=%d changed=%d failed=%d skipped=%d\n", r.Host, r.OK, r.Changed, r.Failed, r.Skipped)
	}
}
