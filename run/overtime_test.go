package run

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// slowTask is a countingTask whose apply takes took by the run's clock.
type slowTask struct {
	countingTask
	now  *time.Time
	took time.Duration
}

func (s slowTask) Apply(ctx context.Context, h hosts.Host, c *tasks.Change) error {
	*s.now = s.now.Add(s.took)
	return s.countingTask.Apply(ctx, h, c)
}

// fakeClock makes the run's clock read *now for the test.
func fakeClock(t *testing.T) *time.Time {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old := clock
	clock = func() time.Time { return now }
	t.Cleanup(func() { clock = old })
	return &now
}

// The host's timer rolls back by itself when it ends, whatever hako is
// doing: a change started near its end could land after the rollback and
// stand unguarded. So, with less than guardMargin of the timer left, hako
// starts nothing more under the guard: the run stops before the next task
// (or handler, or the confirmation), rolls back through the session it
// holds and says why, naming the task and -confirm's time.
func TestGuardedRunStopsBeforeTheTimerEnds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		took   time.Duration // the first task's apply, of a 30 s timer
		second bool          // a second task follows (else a handler)
		before string
	}{
		{"task", 21 * time.Second, true, "stopped before task test.second"},
		{"handler", 21 * time.Second, false, "stopped before handler restart"},
		{"confirm", 21 * time.Second, false, "stopped before confirming"},
		{"in time", 19 * time.Second, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := fakeClock(t)
			p, _ := localPlan(t, "")
			h := p.Hosts[0]
			checks, todo1, todo2 := 0, true, true
			first := &plan.Step{Task: slowTask{countingTask{"first", &checks, &todo1}, now, tc.took}}
			h.Steps = append(h.Steps, first)
			var second *plan.Step
			switch {
			case tc.second:
				second = &plan.Step{Task: countingTask{"second", &checks, &todo2}}
				h.Steps = append(h.Steps, second)
			case tc.name == "handler":
				first.Notify = []string{"restart"}
				second = &plan.Step{Task: countingTask{"restart", &checks, &todo2}}
				h.Handlers = map[string]*plan.Step{"restart": second}
				h.Order = []string{"restart"}
			}
			net := &fakeNet{}
			o := sshdOptions(t, true, net)
			o.Confirm = 30 * time.Second
			rec := &recorder{}
			r := Apply(context.Background(), p, o, rec)[0]
			if tc.before == "" {
				if net.disarm != 1 || net.rolledBack != 0 || r.Unreachable != nil || todo1 || todo2 {
					t.Fatalf("in time: net %+v, recap %+v, todo %v %v", net, r, todo1, todo2)
				}
				return
			}
			if todo1 {
				t.Errorf("the first task was not applied")
			}
			if second != nil && !todo2 {
				t.Errorf("%s ran after the guard's time was up", second.Task.Address())
			}
			if net.rolledBack != 1 || net.disarm != 0 {
				t.Errorf("net %+v: want rolled back through the held session, not confirmed", net)
			}
			want := "host local: the run took longer than the rollback timer allows (-confirm 30s, 9s left): " + tc.before +
				"; give -confirm a longer time; the SSH, firewall and network configuration were rolled back"
			if r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), want) {
				t.Errorf("recap's error %v\nwant it to hold %q", r.Unreachable, want)
			}
			if r.Failed == 0 {
				t.Errorf("recap %+v: the host must fail", r)
			}
		})
	}
}

// refusedTask's apply is refused by the guard's mark: the host's timer
// has rolled back this connection's changes.
type refusedTask struct{ countingTask }

func (refusedTask) Apply(context.Context, hosts.Host, *tasks.Change) error {
	return fmt.Errorf("host %q: %w", "local", hosts.ErrGuardRolledBack)
}

// Once the guard's mark refuses a task, hako starts nothing more under
// the guard (the next task is skipped, no new connection, no disarm) and
// rolls back at once, saying why.
func TestGuardedRunStopsWhenTheGuardRefuses(t *testing.T) {
	p, _ := localPlan(t, "")
	h := p.Hosts[0]
	checks, todo1, todo2 := 0, true, true
	second := &plan.Step{Task: countingTask{"second", &checks, &todo2}}
	h.Steps = append(h.Steps, &plan.Step{Task: refusedTask{countingTask{"first", &checks, &todo1}}}, second)
	net := &fakeNet{}
	o := sshdOptions(t, true, net)
	o.Confirm = 30 * time.Second
	r := Apply(context.Background(), p, o, &recorder{})[0]
	if !todo2 {
		t.Errorf("the task after the refused one was applied")
	}
	if net.rolledBack != 1 || net.disarm != 0 {
		t.Errorf("net %+v: want rolled back at once, not confirmed", net)
	}
	if r.Failed != 1 || r.Skipped != 1 {
		t.Errorf("recap %+v: want the refused task failed (once) and the next skipped", r)
	}
	want := "the host's guard rolled back this run's changes (its timer ended, or someone rolled back by hand): nothing more is done on it; the SSH, firewall and network configuration were rolled back"
	if r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), want) {
		t.Errorf("recap's error %v\nwant it to hold %q", r.Unreachable, want)
	}
}
