package run

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/probe"
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
	if sv.conn.moveTo != 0 || armsGuard(h.Steps, sv.changes(), sv.env, o.Confirm > 0) {
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

	// The state of one pass over the tasks (runTasks):
	// cur holds the host's latest answers to every probe asked so far.
	cur *tasks.State
	// checks are the tasks' checks made so far; a task without one is
	// checked against cur when its turn comes.
	checks map[*plan.Step]checked
	// stale are the later tasks whose check (or cur's answers to their
	// probes) an applied change may have made wrong (see affects): they
	// are asked again before they run.
	stale map[*plan.Step]bool
	// pending are the changed tasks not yet re-checked; out are the
	// results not yet reported, in plan order, which wait for the
	// re-checks of the pending tasks among them.
	pending []pendingCheck
	out     []Result
	// afterTasks is cur after the last re-check of a pass, which answers
	// the probes of the handlers due then too (nil: none made).
	afterTasks *tasks.State
	refreshErr error // why the last refresh failed

	// The rollback guard, while it is armed (see guardedRun and
	// overtime): guardEnd is when the host's timer ends at the earliest
	// (zero: no guard armed), guardTimeout its length; overrun says why
	// the run stopped for want of time (nil: it did not).
	guardEnd     time.Time
	guardTimeout time.Duration
	overrun      error
}

// pendingCheck is a changed task waiting for its re-check: out[at] is its
// result, c the change it applied.
type pendingCheck struct {
	at   int
	step *plan.Step
	c    *tasks.Change
}

// runTasks applies the tasks in order. first are the tasks' checks
// against state, when the survey made them (nil: check here, against
// state).
//
// A first apply must not cost a round trip per changed task. So a check
// stands until a change applied since may have affected what it read
// (affects); only then are the later tasks so affected asked again, all
// in one round trip, before the first of them runs. And a changed task is
// re-checked (proving that Apply converged: a task still planning a
// change fails as not idempotent) in one round trip with the others
// waiting, and with those asked again, at the latest before the end, and
// earlier when a later task that changes may touch what it reads (it
// would then be judged on that task's effect, not its own), or at once
// when it is a change that can cut hako off (mustVerifyNow).
func (a *hostApply) runTasks(ctx context.Context, state *tasks.State, first map[*plan.Step]checked) {
	a.cur, a.checks, a.stale, a.pending, a.out = state, map[*plan.Step]checked{}, map[*plan.Step]bool{}, nil, nil
	for s, c := range first {
		a.checks[s] = c
	}
	for i := 0; i < len(a.host.Steps); {
		if a.failed {
			a.queue(Result{Step: a.host.Steps[i], Status: Skipped})
			i++
			continue
		}
		batch := a.prepareBatch(ctx, i)
		a.applyBatch(ctx, batch)
		for _, m := range batch {
			a.settle(ctx, m)
		}
		i += len(batch)
	}
	if len(a.pending) > 0 {
		// The handlers' probes go with the last re-checks: they run
		// next, against the host as the tasks left it.
		if a.refresh(ctx, len(a.host.Steps), probesOf(a.dueHandlers())) {
			a.afterTasks = a.cur
		}
	}
	a.flush()
}

// settle records a task's outcome, in plan order: its handlers are
// notified, a failure stops the run on the host, a change waits for its
// re-check (at once for a change that can cut hako off).
func (a *hostApply) settle(ctx context.Context, m *member) {
	s, r := m.step, m.r
	if r.Applied {
		if s.AlwaysRuns() {
			a.ran[s] = true
		}
		for _, hn := range s.Notify {
			a.notify(hn)
		}
	}
	if r.Status == Failed && !a.failed {
		a.failed, a.failedTask = true, s.Task.Address()
	}
	verify := r.Status == Changed && !s.AlwaysRuns()
	if verify {
		a.pending = append(a.pending, pendingCheck{at: len(a.out), step: s, c: r.Change})
	}
	a.queue(r)
	if verify && mustVerifyNow(s, a.conn.env(a.host, a.cur)) {
		a.refresh(ctx, m.i+1, nil)
	}
}

// mustVerifyNow: a change that can cut hako off (tasks.Cutter), or whose
// result is compared with what the lockout checks judged
// (tasks.FinalChecker), is re-checked before the next task runs, as the
// lockout checks judged the plan's change and not whatever else the host
// got: a later task, and the handlers that restart services, must not run
// over SSH, firewall, network or sudo configuration that was not proved,
// and a failure there stops the run before anything more changes.
func mustVerifyNow(s *plan.Step, env tasks.Env) bool {
	if _, ok := s.Task.(tasks.FinalChecker); ok {
		return true
	}
	c, ok := s.Task.(tasks.Cutter)
	return ok && c.Cuts(env) != 0
}

// member is a task of a batch (see prepareBatch): its place in the
// plan, its result so far, and the change to apply (nil: r is final).
type member struct {
	i      int
	step   *plan.Step
	r      Result
	change *tasks.Change
	effect effect // what applying change may touch
	reads  reads  // what the task's check read
}

// prepare checks s (i is its place) as its turn comes: it asks the host
// again first when an applied change may have touched what s's check
// read (s is stale), and when s's own change may touch what a changed
// task waiting for its re-check reads (that task is judged on its own
// effect first). A change to apply is left in the member's change.
func (a *hostApply) prepare(ctx context.Context, i int, s *plan.Step) *member {
	start := time.Now()
	m := &member{i: i, step: s, r: Result{Step: s}}
	defer func() { m.r.Duration = time.Since(start) }()
	if a.ran[s] {
		m.r.Status = OK // it ran in this apply already
		return m
	}
	if a.stale[s] {
		answered := a.refresh(ctx, i, nil)
		switch {
		case a.failed: // a re-check of an earlier task failed
			m.r.Status = Skipped
			return m
		case !answered:
			m.r.Status, m.r.Err = Failed, fmt.Errorf("checking the host again after the changes before this task: %w", a.refreshErr)
			return m
		}
	}
	fc, known := a.checks[s]
	if !known {
		fc.change, fc.err = a.recheck(s, a.cur)
	}
	m.r.Change = fc.change
	if fc.err != nil {
		m.r.Status, m.r.Err = Failed, fc.err
		return m
	}
	if !fc.change.Changed() {
		m.r.Status = OK
		return m
	}
	m.effect = effectOf(s, a.cur)
	if slices.ContainsFunc(a.pending, func(p pendingCheck) bool { return affects(m.effect, p.step, a.cur) }) {
		a.refresh(ctx, i+1, nil)
		if a.failed {
			m.r.Status = Skipped
			return m
		}
	}
	m.change = fc.change
	return m
}

// Writes of files that are independent of each other are made together:
// a first apply of hundreds of files must not cost each file's round
// trips (folder checks, create, owner and mode on the handle, content,
// fsync, close, rename) one file after the other. The SFTP client sends
// the requests of all the writes in flight at once over the one session.
//
// A batch is a run of consecutive tasks from the i-th whose changes are
// confined to the paths they write without creating folders (a file
// without a validate command, which may do anything), that can cut
// nothing (those are re-checked before anything more runs), and none of
// which may touch what another one's check reads, either way round
// (effect.touches): so it makes no difference in which order they are
// applied, and none is checked against another's effect. A task that is
// stale, or whose change may touch what a changed task waiting for its
// re-check reads, starts a batch of its own, so that the host is asked
// again before it as in plan order. Any other task is a batch of one.
// A directory task is one too: folders it creates on the way may be
// where another task's are.
func (a *hostApply) prepareBatch(ctx context.Context, i int) []*member {
	steps := a.host.Steps
	head := a.prepare(ctx, i, steps[i])
	batch := []*member{head}
	if !a.concurrent(head) {
		return batch
	}
	for j := i + 1; j < len(steps) && len(batch) < maxBatch; j++ {
		s := steps[j]
		if a.stale[s] || !a.concurrentKind(s) {
			break
		}
		e, r := effectOf(s, a.cur), readsIn(s, a.cur)
		if slices.ContainsFunc(batch, func(m *member) bool { return m.effect.touches(r) || e.touches(m.reads) }) ||
			slices.ContainsFunc(a.pending, func(p pendingCheck) bool { return affects(e, p.step, a.cur) }) {
			break
		}
		m := a.prepare(ctx, j, s)
		m.effect, m.reads = e, r
		batch = append(batch, m)
		if !a.concurrent(m) {
			break
		}
	}
	return batch
}

// maxBatch bounds a batch (the checks of a candidate against every
// member grow with its square); applyWorkers bounds the writes in flight.
const (
	maxBatch     = 256
	applyWorkers = 16
)

// concurrentKind: s's change is confined to the paths it writes, creates
// no folder and cannot cut hako off.
func (a *hostApply) concurrentKind(s *plan.Step) bool {
	c, ok := s.Task.(tasks.Confined)
	if !ok || s.AlwaysRuns() || a.ran[s] {
		return false
	}
	confined, folders := c.Confined()
	return confined && !folders && !mustVerifyNow(s, a.conn.env(a.host, a.cur))
}

// concurrent: m was checked and may be applied beside others (its
// outcome is a change to apply, or OK), and what it touches and reads is
// known. It fills in m's effect and reads when they are not yet.
func (a *hostApply) concurrent(m *member) bool {
	if m.change == nil && m.r.Status != OK || !a.concurrentKind(m.step) {
		return false
	}
	if !m.reads.known {
		m.effect, m.reads = effectOf(m.step, a.cur), readsIn(m.step, a.cur)
	}
	return !m.effect.global && m.reads.known
}

// applyBatch applies the changes of batch's members: one by itself, more
// by up to applyWorkers at once, taken in plan order. After a failure no
// further write starts: those already started finish (and are reported
// as what they did), the ones not started are skipped, as everything
// after the batch is. If the run on the host failed while the batch was
// checked, nothing of it is applied.
func (a *hostApply) applyBatch(ctx context.Context, batch []*member) {
	var todo []*member
	for _, m := range batch {
		switch {
		case m.change == nil:
		case a.failed:
			m.change, m.r.Status = nil, Skipped
		default:
			todo = append(todo, m)
		}
	}
	if len(todo) == 1 {
		if a.overtime(todo[0].step) {
			todo[0].r.Status = Skipped
		} else {
			a.applyMember(ctx, todo[0])
		}
	} else if len(todo) > 1 {
		var mu sync.Mutex
		next, stop := 0, false
		var wg sync.WaitGroup
		for range min(applyWorkers, len(todo)) {
			wg.Go(func() {
				for {
					mu.Lock()
					if stop || next == len(todo) || a.overtime(todo[next].step) {
						stop = true
						mu.Unlock()
						return
					}
					m := todo[next]
					next++
					mu.Unlock()
					a.applyMember(ctx, m)
					if m.r.Status == Failed {
						mu.Lock()
						stop = true
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		for _, m := range todo[next:] {
			m.r.Status = Skipped
		}
	}
	// The later tasks whose checks an applied change may have touched are
	// asked again before they run.
	var applied []*member
	for _, m := range batch {
		if m.r.Applied {
			a.noteMove(m.step, m.change)
			applied = append(applied, m)
		}
	}
	if len(applied) == 0 {
		return
	}
	for _, t := range a.host.Steps[batch[len(batch)-1].i+1:] {
		if a.stale[t] {
			continue
		}
		r := readsIn(t, a.cur)
		if slices.ContainsFunc(applied, func(m *member) bool { return m.effect.touches(r) }) {
			a.stale[t] = true
		}
	}
}

// applyMember applies m's change; it may run beside others, so it touches
// nothing but m.
func (a *hostApply) applyMember(ctx context.Context, m *member) {
	start := time.Now()
	defer func() { m.r.Duration += time.Since(start) }()
	if err := apply(ctx, a.host.Name, m.step, a.conn, m.change); err != nil {
		m.r.Status, m.r.Err = Failed, err
		return
	}
	m.r.Status, m.r.Applied = Changed, true
}

// refresh asks the host, in one round trip, for the probes of the pending
// changed tasks, of the stale tasks from the i-th on, and extra; then
// re-checks the pending tasks (each fails if it still plans a change, or
// if the host differs from what it predicted) and checks the stale ones
// again. It reports whether the host answered (else refreshErr says why,
// and the pending tasks failed).
func (a *hostApply) refresh(ctx context.Context, i int, extra []tasks.Probe) bool {
	var ask []*plan.Step
	for _, p := range a.pending {
		ask = append(ask, p.step)
	}
	var stale []*plan.Step
	for _, t := range a.host.Steps[i:] {
		if a.stale[t] {
			stale = append(stale, t)
		}
	}
	ask = append(ask, stale...)
	st, err := a.conn.gather(ctx, append(stepProbes(a.host.Steps, ask), extra...))
	pending := a.pending
	a.pending = nil
	a.refreshErr = err
	if err != nil {
		if ctx.Err() != nil {
			a.interrupted(pending)
		} else {
			for _, p := range pending {
				a.verified(p, fmt.Errorf("checking the result: %w", err))
			}
		}
		a.flush()
		return false
	}
	merged := tasks.NewState(probe.NewAnswers())
	merged.Answers.Add(a.cur.Answers)
	merged.Answers.Add(st.Answers)
	merged.Endpoint = st.Endpoint
	a.cur = merged
	for _, p := range pending {
		after, err := a.recheck(p.step, a.cur)
		switch {
		case err != nil:
			err = fmt.Errorf("checking the result: %w", err)
		case after.Changed():
			err = notIdempotent(after)
		default:
			err = checkFinal(a.host.Name, p.step, p.c, a.cur)
		}
		a.verified(p, err)
	}
	for _, t := range stale {
		delete(a.stale, t)
		c, err := a.recheck(t, a.cur)
		a.checks[t] = checked{c, err}
	}
	a.flush()
	return true
}

// interrupted: the run was cancelled before the pending tasks' re-check.
// Their changes were made, so they stay reported as changed, with a note
// that they were not re-checked: reported as failed, they would hide from
// the operator what the host got. Nothing more runs on the host, as
// after a failure.
func (a *hostApply) interrupted(pending []pendingCheck) {
	var names []string
	for _, p := range pending {
		names = append(names, p.step.Task.Address().String())
	}
	if len(names) > 0 {
		a.rep.Note(a.host.Name, "interrupted: applied but not re-checked: "+strings.Join(names, ", "))
	}
	a.failed = true
}

// verified records a pending task's re-check: err fails the task (and the
// run on the host).
func (a *hostApply) verified(p pendingCheck, err error) {
	if err == nil {
		return
	}
	r := &a.out[p.at]
	r.Status, r.Err = Failed, err
	if !a.failed {
		a.failed, a.failedTask = true, p.step.Task.Address()
	}
}

// queue reports r once the results before it and it are final: at once,
// unless a changed task among them waits for its re-check.
func (a *hostApply) queue(r Result) {
	a.out = append(a.out, r)
	if len(a.pending) == 0 {
		a.flush()
	}
}

// flush reports the results held, in plan order; those of pending tasks
// stay, with all after them.
func (a *hostApply) flush() {
	n := len(a.out)
	if len(a.pending) > 0 {
		n = a.pending[0].at
	}
	for _, r := range a.out[:n] {
		a.report(r)
	}
	a.out = a.out[n:]
	for i := range a.pending {
		a.pending[i].at -= n
	}
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
	due := a.dueHandlers()
	// The last re-checks of the tasks asked the handlers' probes too.
	state := a.afterTasks
	a.afterTasks = nil
	if len(due) == 0 {
		return
	}
	a.notified = nil // each notification runs its handler once
	if ctx.Err() != nil || a.overrun != nil || a.overtime(due[0]) {
		// Interrupted, or out of the guard's time: nothing more is
		// started on the host (the guarded run rolls back, and restarts
		// what it restores, next).
		var names []string
		for _, s := range due {
			names = append(names, s.Task.Address().String())
			a.report(Result{Step: s, Handler: true, Status: Skipped})
		}
		why := "interrupted"
		if ctx.Err() == nil {
			why = "out of the rollback timer's time"
		}
		a.rep.Note(a.host.Name, why+": these handlers of changed tasks did not run: "+strings.Join(names, ", "))
		return
	}
	if a.failed {
		a.recap.HandlersAfterFailure = true
		a.rep.Note(a.host.Name, "a task failed; running the handlers of the tasks that changed anyway")
	}
	if ps := probesOf(due); len(ps) > 0 && state == nil {
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
		case a.overrun != nil || a.overtime(s):
			r.Status = Skipped
		default:
			if err := apply(ctx, a.host.Name, s, a.conn, c); err != nil {
				r.Status, r.Err = Failed, err
			}
		}
		r.Duration = time.Since(start)
		a.report(r)
	}
}

// dueHandlers are the notified handlers, in declaration order.
func (a *hostApply) dueHandlers() []*plan.Step {
	var due []*plan.Step
	for _, name := range a.host.Order {
		if a.notified[name] {
			due = append(due, a.host.Handlers[name])
		}
	}
	return due
}

func (a *hostApply) report(r Result) {
	// A command or write the guard's mark refused: the host's timer has
	// rolled back, so nothing more is started under the guard (as when
	// the time is up, see overtime) and guardedRun rolls back at once.
	if r.Err != nil && a.overrun == nil && !a.guardEnd.IsZero() && errors.Is(r.Err, hosts.ErrGuardRolledBack) {
		a.overrun, a.failed = hosts.ErrGuardRolledBack, true
	}
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
