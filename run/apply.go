package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/tasks"
)

// Status is a task's outcome in apply.
type Status int

const (
	OK      Status = iota // nothing to do
	Changed               // applied and verified
	Failed
	Skipped // not attempted: an earlier task on the host failed
)

func (s Status) String() string { return [...]string{"ok", "changed", "failed", "skipped"}[s] }

// Result is one task's or handler's outcome.
type Result struct {
	Host    string
	Step    *plan.Step
	Handler bool
	Status  Status
	Change  *tasks.Change // nil when the task could not be checked
	Err     error
	// Applied: Apply succeeded, so the host changed, even if the re-check
	// then failed; its handlers must run.
	Applied  bool
	Duration time.Duration
}

// Recap counts a host's outcomes.
type Recap struct {
	Host                         string
	OK, Changed, Failed, Skipped int
	Unreachable                  error // the host could not be reached or probed
	HandlersAfterFailure         bool  // handlers ran although a task failed
}

// rank orders statuses by how much they tell: a step reported twice is
// counted by the higher.
func rank(s Status) int { return [...]int{OK: 1, Changed: 2, Failed: 3, Skipped: 0}[s] }

// add counts n outcomes of status s (n = -1 takes one back).
func (r *Recap) add(s Status, n int) {
	switch s {
	case OK:
		r.OK += n
	case Changed:
		r.Changed += n
	case Failed:
		r.Failed += n
	case Skipped:
		r.Skipped += n
	}
}

// Reporter receives results as they happen; calls may come from several
// hosts at once.
type Reporter interface {
	Result(r Result)
	Note(host, msg string)
	Warning(host, msg string) // preflight's lockout checks', never blocking
}

// Apply converges every host and returns one recap per host, in plan order.
func Apply(ctx context.Context, p *plan.Plan, o Options, rep Reporter) []*Recap {
	return eachHost(ctx, p, o, func(ctx context.Context, h *plan.Host) *Recap {
		return applyHost(ctx, h, o, rep)
	}, func(h *plan.Host, err error) *Recap {
		// What the host did before is lost with its goroutine's state;
		// the failure is what counts.
		return &Recap{Host: h.Name, Failed: 1, Unreachable: err}
	})
}

func applyHost(ctx context.Context, h *plan.Host, o Options, rep Reporter) *Recap {
	recap := &Recap{Host: h.Name}
	sv, err := o.take(ctx, h, func(n string) { rep.Note(h.Name, n) })
	if err != nil {
		recap.Unreachable = err
		recap.Failed, recap.Skipped = 1, len(h.Steps)
		return recap
	}
	h = sv.host // with the tasks that read host.facts
	a := &hostApply{host: h, conn: sv.conn, rep: rep, recap: recap, ran: map[*plan.Step]bool{}, counted: map[*plan.Step]Status{}}
	defer func() { a.conn.Close() }() // a port move replaces the connection
	if o.Verbose {
		defer func() { rep.Note(h.Name, a.conn.probed.String()) }()
	}
	if a.refuse(sv) {
		return recap
	}
	if sv.conn.moveTo != 0 || o.Confirm > 0 && armsGuard(h.Steps, sv.changes(), sv.env) {
		a.guardedRun(ctx, o, sv)
		return recap
	}
	a.runTasks(ctx, sv.state, sv.checked)
	a.runHandlers(ctx)
	if err := a.makeMoves(ctx); err != nil {
		a.failHost(err)
	}
	return recap
}

// refuse reports the survey's warnings; if anything is refused, nothing
// runs on the host and the refused tasks fail.
func (a *hostApply) refuse(sv *survey) bool {
	for _, w := range sv.warnings {
		a.rep.Warning(a.host.Name, w.String())
	}
	if len(sv.refused) == 0 {
		return false
	}
	a.rep.Note(a.host.Name, "the plan was refused; nothing was changed on this host")
	for _, s := range a.host.Steps {
		if rs := sv.refused[s.Task.Address()]; len(rs) > 0 {
			a.report(Result{Step: s, Status: Failed, Err: refusalError(rs)})
		} else {
			a.report(Result{Step: s, Status: Skipped})
		}
	}
	if rest := sv.hostRefusals(a.host); len(rest) > 0 {
		a.failHost(refusalError(rest))
	}
	return true
}

// refusalError is one task's refusals as its error.
func refusalError(fs []preflight.Finding) error {
	if len(fs) == 1 {
		return fs[0].Err()
	}
	errs := make([]error, len(fs))
	for i, f := range fs {
		errs[i] = f.Err()
	}
	return errors.Join(errs...)
}

// hostApply is the state of one host's apply.
type hostApply struct {
	host     *plan.Host
	conn     *session
	rep      Reporter
	recap    *Recap
	notified map[string]bool
	failed   bool
	// failedTask is the task whose failure set failed.
	failedTask tasks.Address
	quiet      bool // report only changes and failures (a second pass)
	// ran holds the steps that always run (unguarded commands) and ran
	// already: a second pass after a port move must not run them again.
	ran map[*plan.Step]bool
	// counted is each step's status in the recap, which counts every
	// task once, by its most telling status, however many passes.
	counted map[*plan.Step]Status
	// moves are the address moves of the applied changes, made last.
	moves []addressMove
}

// runTasks applies the tasks in order. first are the tasks' checks
// against state, when the survey made them (nil: check here). After a
// change it probes again, in the same round trip, the changed task (to
// prove it converged) and every later task (whose state the change may
// have touched), and checks those against the new state.
func (a *hostApply) runTasks(ctx context.Context, state *tasks.State, first map[*plan.Step]checked) {
	for i, s := range a.host.Steps {
		if a.failed {
			a.report(Result{Step: s, Status: Skipped})
			continue
		}
		start := time.Now()
		r, next := a.applyStep(ctx, s, state, first, a.host.Steps[i:])
		r.Duration = time.Since(start)
		if next != nil {
			state, first = next, nil
		}
		if r.Applied {
			if s.AlwaysRuns() {
				a.ran[s] = true
			}
			for _, hn := range s.Notify {
				a.notify(hn)
			}
		}
		a.failed = r.Status == Failed
		if a.failed {
			a.failedTask = s.Task.Address()
		}
		a.report(r)
	}
}

func (a *hostApply) applyStep(ctx context.Context, s *plan.Step, state *tasks.State, first map[*plan.Step]checked,
	rest []*plan.Step) (Result, *tasks.State) {
	r := Result{Step: s}
	if a.ran[s] {
		r.Status = OK // it ran in this apply already
		return r, nil
	}
	// The survey's check stands when nothing changed since: it refused
	// nothing that stands, or the run would not have got here.
	fc, surveyed := first[s]
	c, err := fc.change, fc.err
	if !surveyed {
		c, err = a.recheck(s, state)
	}
	r.Change = c
	if err != nil {
		r.Status, r.Err = Failed, err
		return r, nil
	}
	if !c.Changed() {
		r.Status = OK
		return r, nil
	}
	if err := apply(ctx, a.host.Name, s, a.conn, c); err != nil {
		r.Status, r.Err = Failed, err
		return r, nil
	}
	r.Status, r.Applied = Changed, true
	a.noteMove(s, c)
	if len(rest) == 0 && s.AlwaysRuns() {
		return r, nil
	}
	next, err := a.conn.gather(ctx, probesOf(rest))
	if err != nil {
		r.Status, r.Err = Failed, fmt.Errorf("checking the result: %w", err)
		return r, nil
	}
	if s.AlwaysRuns() {
		return r, next
	}
	after, err := a.recheck(s, next)
	switch {
	case err != nil:
		r.Status, r.Err = Failed, fmt.Errorf("checking the result: %w", err)
	case after.Changed():
		r.Status, r.Err = Failed, notIdempotent(after)
	default:
		if err := checkFinal(a.host.Name, s, c, next); err != nil {
			r.Status, r.Err = Failed, err
		}
	}
	return r, next
}

func notIdempotent(after *tasks.Change) error {
	msg := "task is not idempotent: after apply it still plans to " + after.Action.String()
	for _, at := range after.Attrs {
		msg += fmt.Sprintf("; %s %q → %q", at.Name, at.Before, at.After)
	}
	if after.Content != nil {
		msg += "; content differs"
	}
	return errors.New(msg)
}

// checkFinal compares what a change predicted with the host's state after
// Apply, for kinds that can (tasks.FinalChecker): the host holding
// something else than predicted (an "inconsistent result after apply")
// fails the task, since what was checked before the change, such as the
// lockout check of a firewall, was not what the host got.
func checkFinal(host string, s *plan.Step, c *tasks.Change, st *tasks.State) (err error) {
	fc, ok := s.Task.(tasks.FinalChecker)
	if !ok {
		return nil
	}
	defer recovered(&err, host, "task "+s.Task.Address().String())
	if err := fc.CheckFinal(c, st); err != nil {
		return fmt.Errorf("host %s: %s: after apply, the host differs from the plan: %w", host, s.Task.Address(), err)
	}
	return nil
}

func (a *hostApply) notify(name string) {
	if a.notified == nil {
		a.notified = map[string]bool{}
	}
	a.notified[name] = true
}

// runHandlers runs each notified handler once, in declaration order, also
// after a failed task: a changed config must not be left without its
// restart.
func (a *hostApply) runHandlers(ctx context.Context) {
	var due []*plan.Step
	for _, name := range a.host.Order {
		if a.notified[name] {
			due = append(due, a.host.Handlers[name])
		}
	}
	if len(due) == 0 {
		return
	}
	a.notified = nil // each notification runs its handler once
	if ctx.Err() != nil {
		// Interrupted: nothing more is started on the host (a guarded
		// run rolls back, and restarts what it restores, next).
		var names []string
		for _, s := range due {
			names = append(names, s.Task.Address().String())
			a.report(Result{Step: s, Handler: true, Status: Skipped})
		}
		a.rep.Note(a.host.Name, "interrupted: these handlers of changed tasks did not run: "+strings.Join(names, ", "))
		return
	}
	if a.failed {
		a.recap.HandlersAfterFailure = true
		a.rep.Note(a.host.Name, "a task failed; running the handlers of the tasks that changed anyway")
	}
	var state *tasks.State
	if ps := probesOf(due); len(ps) > 0 {
		var err error
		if state, err = a.conn.gather(ctx, ps); err != nil {
			for _, s := range due {
				a.report(Result{Step: s, Handler: true, Status: Failed, Err: err})
			}
			return
		}
	}
	for _, s := range due {
		start := time.Now()
		r := Result{Step: s, Handler: true, Status: Changed}
		c, err := a.recheck(s, state)
		r.Change = c
		switch {
		case err != nil:
			r.Status, r.Err = Failed, err
		case !c.Changed():
			r.Status = OK
		default:
			if err := apply(ctx, a.host.Name, s, a.conn, c); err != nil {
				r.Status, r.Err = Failed, err
			}
		}
		r.Duration = time.Since(start)
		a.report(r)
	}
}

func (a *hostApply) report(r Result) {
	if a.quiet && r.Status == OK {
		return
	}
	r.Host = a.host.Name
	if old, seen := a.counted[r.Step]; !seen || rank(r.Status) > rank(old) {
		if seen {
			a.recap.add(old, -1)
		}
		a.counted[r.Step] = r.Status
		a.recap.add(r.Status, 1)
	}
	a.rep.Result(r)
}
