package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/figures"
	"github.com/hako-dev/hako/internal/testhost"
)

// A cancelled Run (Ctrl-C) on a real sshd and sudo: it starts nothing once
// cancelled, and it returns only when the command it started has ended on
// the host, at whatever moment the cancel comes, the very start included:
// what runs next (a rollback) must not run beside it.
func TestCancelledRunStopsItsCommand(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	c := dialBecome(t, h)
	h.Exec(t, "mkdir -p /run/hako-cancel")

	const n = 30
	started := 0
	for i := range n {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := c.Run(ctx, fmt.Sprintf("touch /run/hako-cancel/cancelled-%d", i)); err == nil {
			t.Errorf("run %d with a cancelled context: no error", i)
		}
	}
	started = strings.Count(h.Exec(t, "ls /run/hako-cancel"), "\n")

	// The script takes a while to end after TERM: Run must wait for it.
	const script = `trap 'sleep 1; touch /run/hako-cancel/ended-%[1]d; exit 1' TERM
echo $$ >/run/hako-cancel/pid-%[1]d; touch /run/hako-cancel/begun-%[1]d
while :; do sleep 0.05; done`
	stillRunning := 0
	for i := range n {
		ctx, cancel := context.WithCancel(t.Context())
		// From the very start of the command (the signal may come before
		// its process group exists) to well inside it.
		time.AfterFunc(time.Duration(i)*10*time.Millisecond, cancel)
		errc := make(chan error, 1)
		go func() {
			_, err := c.Run(ctx, fmt.Sprintf(script, i))
			errc <- err
		}()
		var err error
		select {
		case err = <-errc:
		case <-time.After(2 * time.Minute):
			figures.Record(t, "cancelled commands: run %d did not return within 2 minutes of its cancel", i)
			t.Fatalf("run %d (cancelled after %v) did not return within 2 minutes", i, time.Duration(i)*10*time.Millisecond)
		}
		cancel()
		if err == nil {
			t.Errorf("run %d: no error after the cancel", i)
		}
		if got := h.Exec(t, fmt.Sprintf(`cd /run/hako-cancel; if [ -e begun-%[1]d ] && [ ! -e ended-%[1]d ]; then echo running; fi; if [ -s pid-%[1]d ] && kill -0 "$(cat pid-%[1]d)" 2>/dev/null; then echo process; fi`, i)); got != "" {
			stillRunning++
			t.Errorf("run %d (cancelled after %v, Run said %v): after Run returned, its command was still at work: %q; processes:\n%s", i, time.Duration(i)*10*time.Millisecond, err, got,
				h.Exec(t, "ps -eo pid,ppid,pgid,sid,stat,args"))
		}
	}
	h.Exec(t, `for p in /run/hako-cancel/pid-*; do kill "$(cat "$p")" 2>/dev/null; done; true`)
	figures.Record(t, "cancelled commands: %d runs with a cancelled context, %d started on the host; %d cancelled while running, %d still at work after Run returned",
		n, started, n, stillRunning)
	if started > 0 {
		t.Errorf("%d of %d runs with a cancelled context started their command", started, n)
	}
}
