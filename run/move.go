package run

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
)

// A port move: hako came in through the bootstrap settings (port 22 as the
// card's default user), and the plan moves SSH to its own port and user.
// Before the first change hako arms a safety net on the host (a snapshot
// of the SSH, firewall and network configuration that rolls itself back
// if hako vanishes); it runs the tasks and handlers over the session it
// holds, then logs in again with the plan's settings, which must meet the
// same host key. Only then is the net disarmed and the run converged once
// more over the new path (which drops the temporary firewall rule that
// kept the old port open). If the new path fails, the net rolls the host
// back through the session still held: the host stays reachable.

// SafetyNet undoes a port move's changes on the host.
type SafetyNet interface {
	RollbackNow(ctx context.Context, h hosts.Host) error
	Disarm(ctx context.Context, h hosts.Host) error
}

// NetRequest says what a safety net must be able to restore.
type NetRequest struct {
	Paths   []string // files the plan manages that can cut SSH
	UFW     []string // the firewall's files, when the plan manages ufw
	Restart []string // services to restart after restoring
	Reapply []string // network services to restart, if running, when the host rolls back by itself
	Timeout time.Duration
	// AllowPending arms even while a rollback armed by another run waits
	// on the host (-allow-risky pending-rollback).
	AllowPending bool
}

// DefaultMoveTimeout bounds a port move: if hako has not confirmed the
// new path by then (it crashed, the laptop slept), the host rolls back.
const DefaultMoveTimeout = 10 * time.Minute

// rollbackTimeout bounds a rollback through the held session.
const rollbackTimeout = 2 * time.Minute

// guardedRun carries out a port move, or with -confirm any change to what
// can cut SSH, under a safety net: armed before the first change, disarmed
// only over a new connection made after the last one.
func (a *hostApply) guardedRun(ctx context.Context, o Options, sv *survey) {
	from, moving := a.conn.cfg, a.conn.moveTo != 0
	what := "this change"
	if moving {
		what = fmt.Sprintf("moving SSH from port %d to %d", from.Port, a.conn.moveTo)
	}
	if o.ArmSafetyNet == nil {
		a.failHost(fmt.Errorf("%s needs a safety net, and none is configured", what))
		return
	}
	timeout := o.Confirm
	if timeout <= 0 {
		timeout = DefaultMoveTimeout
	}
	req := guardRequest(a.host.Steps, sv.env)
	req.Timeout, req.AllowPending = timeout, a.conn.allow[preflight.CheckPendingRollback]
	// Taken before the arming command is sent: the host starts its timer
	// later than this, so the time left reckoned from here is never more
	// than the host's, whatever either clock says.
	armed := clock()
	net, err := o.ArmSafetyNet(ctx, a.conn.Host, req)
	if err != nil {
		if ctx.Err() != nil {
			a.failHost(fmt.Errorf("interrupted while arming the rollback before %s: %w; nothing was changed", what, err))
			return
		}
		a.failHost(fmt.Errorf("arming the rollback before %s: %w; nothing was changed", what, err))
		return
	}
	if moving {
		a.rep.Note(a.host.Name, fmt.Sprintf("moving SSH from port %d (%s) to port %d (%s); the host rolls back by itself within %v unless the new port is confirmed",
			from.Port, from.User, a.host.Conn.Port, a.host.Conn.User, timeout))
	} else {
		a.rep.Note(a.host.Name, guardNote(a.host.Steps, sv, o.Confirm, timeout))
	}
	a.guardEnd, a.guardTimeout = armed.Add(timeout), timeout
	a.runTasks(ctx, sv.state, sv.checked)
	a.runHandlers(ctx)

	var next hosts.Host
	taskFailed := false
	if err = ctx.Err(); err == nil && (a.overrun != nil || a.overtime(nil)) {
		// The guard's refusal came as a task's failure, counted already.
		err, taskFailed = a.overrun, errors.Is(a.overrun, hosts.ErrGuardRolledBack)
	} else if err == nil && moving && a.failed {
		// A port move that failed part-way is taken back whole: confirmed
		// now, the host would keep the new port with the rest of the plan
		// undone, the temporary rule that keeps the old port open for this
		// machine among it (only the converging pass over the new port
		// removes that rule).
		err, taskFailed = fmt.Errorf("task %s failed during the move", a.failedTask), true
	}
	if err == nil {
		if err = a.makeMoves(ctx); err == nil && len(a.moves) > 0 {
			next, err = a.confirmMoved(ctx, o, sv.env.Endpoint.ServerAddr, moveWait(timeout))
		} else if err == nil {
			next, err = a.confirmNewPath(ctx, o, timeout)
		}
		// The login met the sshd running now; one that no handler
		// restarted still has the old configuration, so the files on
		// disk are asked too (sshd_ondisk.go), over the connection that
		// confirms, at the host's new address after an address move.
		if changed, sensitive := changesSSHDFiles(a.host.Steps, sv.changes(), sv.env); err == nil && changed {
			if err = a.judgeSSHDOnDisk(ctx, next, sensitive); err != nil {
				next.Close()
			}
		}
		// Interrupted once the new connection works and before the disarm
		// began: the change is not confirmed, so it is rolled back.
		if err == nil && ctx.Err() != nil {
			next.Close()
			err = ctx.Err()
		}
	}
	if err != nil {
		if !taskFailed { // a failed task is counted already
			a.recap.Failed++
		}
		// An interrupt (Ctrl-C cancels ctx) rolls back too: else the host
		// would wait for its timer, minutes away. Each command hako
		// started has ended by now (hosts' Run waits for that when
		// cancelled), so the rollback does not run beside one.
		why := err.Error()
		if ctx.Err() != nil {
			why = "interrupted"
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		rerr := net.RollbackNow(rctx, a.conn.Host)
		cancel()
		switch {
		case rerr != nil:
			a.recap.Unreachable = fmt.Errorf("host %s: %s; and %s", a.host.Name, why, rollbackFailure(rerr))
		case ctx.Err() != nil:
			a.recap.Unreachable = fmt.Errorf("host %s: interrupted: rolled back the SSH, firewall and network configuration: the host is reachable on port %d as before",
				a.host.Name, from.Port)
		default:
			a.recap.Unreachable = fmt.Errorf("host %s: %s; the SSH, firewall and network configuration were rolled back: the host is reachable on port %d as before",
				a.host.Name, why, from.Port)
		}
		return
	}
	// The disarm is the moment the change stands. An interrupt does not
	// cut it short: its answer would be lost, and with it whether the
	// change stands (the rollback after it would find no guard). It is one
	// short command, bounded on its own.
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), disarmTimeout)
	err = net.Disarm(dctx, next)
	dcancel()
	if err != nil {
		next.Close()
		relogin := func(ctx context.Context) (hosts.Host, error) {
			if len(a.moves) > 0 {
				return a.confirmMoved(ctx, o, sv.env.Endpoint.ServerAddr, disarmTimeout)
			}
			return a.confirmNewPath(ctx, o, timeout)
		}
		if next = a.disarmFailed(ctx, net, relogin, err, from.Port, what, moving); next == nil {
			return
		}
	}
	a.guardEnd = time.Time{} // disarmed: what follows runs unguarded
	if !moving {
		a.rep.Note(a.host.Name, "confirmed over a new connection; the rollback is disarmed")
		next.Close()
		return
	}
	a.rep.Note(a.host.Name, fmt.Sprintf("confirmed: logged in on port %d as %s with the same host key (recorded in known_hosts)",
		a.host.Conn.Port, a.host.Conn.User))
	if ctx.Err() != nil {
		next.Close()
		a.failHost(fmt.Errorf("interrupted after the move was confirmed: %s stands%s; the pass that removes the temporary rule for this machine did not run: apply again", what, a.standsOn(true)))
		return
	}
	old := a.conn
	a.conn = &session{Host: next, cfg: a.host.Conn, allow: old.allow, guarded: old.guarded, probed: old.probed}
	old.Close()
	a.convergeAgain(ctx)
}

// disarmFailed follows a disarm over the new connection that failed
// (disarmErr): the login worked but hako cannot work over it (a
// ForceCommand or a login shell that runs no command, sudo refused), the
// timer fired first, or the disarm got no answer. The change must not
// stand unconfirmed: it is rolled back through the session still held
// (RollbackNow restores the snapshot even after the timer did), and the
// host is as before; converging again now would redo the change
// unguarded. When the disarm got no answer and the rollback fails too,
// both connections are gone (sshd or the network went away as the
// disarm ran) and whether the disarm took effect is unknown: hako logs
// in once more over relogin, as the confirmation logged in, and asks
// again. It returns the connection to go on over when the change stands
// confirmed, else nil, with the host failed and why.
func (a *hostApply) disarmFailed(ctx context.Context, net SafetyNet, relogin func(context.Context) (hosts.Host, error), disarmErr error, fromPort int, what string, moving bool) hosts.Host {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	rerr := net.RollbackNow(rctx, a.conn.Host)
	cancel()
	var partial *guard.RollbackError
	switch {
	case errors.Is(rerr, guard.ErrNotArmed):
		// RollbackNow runs even after the timer rolled back; only a
		// disarm removes the guard. So the disarm took effect and
		// only its answer was lost (the new connection failed while
		// it ran): the change stands.
		a.failHost(fmt.Errorf("the answer of the disarm over the new connection was lost (%v), yet the host has no rollback armed any more: the disarm took effect and %s stands%s; apply again to finish the run",
			disarmErr, what, a.standsOn(moving)))
		return nil
	case rerr == nil:
		a.failHost(fmt.Errorf("the new connection logged in, but the rollback could not be disarmed over it (%v); the SSH, firewall and network configuration were rolled back: the host is reachable on port %d as before",
			disarmErr, fromPort))
		return nil
	case errors.As(rerr, &partial) || !errors.Is(disarmErr, guard.ErrNoAnswer):
		// The host answered one of the two: asking again changes nothing.
		a.failHost(fmt.Errorf("the new connection logged in, but the rollback could not be disarmed over it (%v); and %s", disarmErr, rollbackFailure(rerr)))
		return nil
	}
	// Neither the login nor the command after it is cut short by an
	// interrupt: what they find out is whether the change stands. Each
	// has a bound of its own, so a slow login leaves the command its
	// time.
	lctx, lcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	again, err := relogin(lctx)
	lcancel()
	if err == nil {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), disarmTimeout)
		defer ccancel()
		if ctx.Err() != nil {
			// Interrupted: the change is not to be confirmed now; rolled
			// back, unless the first disarm took effect.
			err = net.RollbackNow(cctx, again)
			again.Close()
			switch {
			case err == nil:
				a.failHost(fmt.Errorf("interrupted: rolled back the SSH, firewall and network configuration over another new connection (the disarm over the first failed: %v): the host is reachable on port %d as before", disarmErr, fromPort))
				return nil
			case errors.Is(err, guard.ErrNotArmed):
				a.failHost(fmt.Errorf("interrupted after the disarm took effect (its answer was lost: %v): %s stands%s; the pass that removes the temporary rule for this machine did not run: apply again", disarmErr, what, a.standsOn(moving)))
				return nil
			}
			a.failHost(fmt.Errorf("interrupted; the rollback could not be disarmed over the new connection (%v); and %s; rolling back over another new connection: %v", disarmErr, rollbackFailure(rerr), err))
			return nil
		}
		err = net.Disarm(cctx, again)
		switch {
		case err == nil || errors.Is(err, guard.ErrNotArmed):
			// Disarmed now, or the first disarm had taken effect: either
			// way no rollback is armed and the change stands.
			a.rep.Note(a.host.Name, fmt.Sprintf("the disarm over the new connection got no answer (%v), and the rollback through the first failed; asked again over another new connection: no rollback is armed any more", disarmErr))
			return again
		case errors.Is(err, guard.ErrRolledBack):
			again.Close()
			a.failHost(fmt.Errorf("the new connection logged in, but the disarm over it got no answer (%v), and by the time hako asked again the host had rolled back (its timer, or the rollback hako asked for): the host is reachable on port %d as before", disarmErr, fromPort))
			return nil
		}
		again.Close()
	}
	a.failHost(fmt.Errorf("the new connection logged in, but the rollback could not be disarmed over it (%v); and %s; asking again over another new connection failed: %v", disarmErr, rollbackFailure(rerr), err))
	return nil
}

// rollbackFailure says what a failed RollbackNow (rerr) leaves. One that
// ran in part cancelled the host's timer as it ended (rollback.sh), so
// nothing rolls back by itself any more; one without an answer may have
// run or not; one the host refused did not run, and the timer will.
func rollbackFailure(rerr error) string {
	var partial *guard.RollbackError
	switch {
	case errors.As(rerr, &partial):
		return fmt.Sprintf("rolling back was incomplete: %v (the host's own rollback is cancelled: see the guard's log on the host, restore what failed, apply again)", rerr)
	case errors.Is(rerr, guard.ErrNoAnswer):
		return fmt.Sprintf("rolling back failed: %v (if it did not run, the host rolls back by itself when the timer ends)", rerr)
	}
	return fmt.Sprintf("rolling back failed: %v (the host rolls back by itself when the timer ends)", rerr)
}

// clock is the time the guard's deadline is reckoned by (tests set it).
var clock = time.Now

// guardMargin is how much of the rollback timer must be left for hako to
// start another change under the guard, or to confirm: the confirmation
// logs in over a new connection (trying a refused one again for up to a
// quarter of the timer, see confirmNewPath) and disarms, and a rollback
// through the held session should start before the host's own. 10 s
// covers a login and a command or two on a loaded host; a fifth of the
// timer grows with it, as the tasks a long timer is given for may take
// long too. It is at most half the timer, so that a short one (-confirm
// 10s) still lets the run start.
func guardMargin(timeout time.Duration) time.Duration {
	return min(max(10*time.Second, timeout/5), timeout/2)
}

// overtime reports whether the guard armed for this run leaves too little
// time (guardMargin) to start s (nil: to confirm). The host's timer rolls
// back by itself when it ends, whatever hako is doing: a change started
// near its end may land after the rollback and stand unguarded (a
// restarted sshd on a new port, the firewall enabled with the old port
// closed) while the files that would undo it were restored already. So
// hako stops instead: the run fails (a.failed, a.overrun says why), and
// guardedRun rolls back through the session it holds.
func (a *hostApply) overtime(s *plan.Step) bool {
	if a.overrun != nil {
		return true
	}
	if a.guardEnd.IsZero() {
		return false
	}
	left := a.guardEnd.Sub(clock())
	if left >= guardMargin(a.guardTimeout) {
		return false
	}
	what := "confirming"
	if s != nil {
		what = "task " + s.Task.Address().String()
		for name, h := range a.host.Handlers {
			if h == s {
				what = "handler " + name
			}
		}
		if !a.failed {
			a.failedTask = s.Task.Address()
		}
	}
	a.overrun = fmt.Errorf("the run took longer than the rollback timer allows (-confirm %v, %v left): stopped before %s; give -confirm a longer time",
		a.guardTimeout, max(left, 0).Round(time.Second), what)
	a.failed = true
	return true
}

// confirmNewPath logs in with the plan's own settings; the host must
// present the key it proved on the bootstrap session.
func (a *hostApply) confirmNewPath(ctx context.Context, o Options, guard time.Duration) (hosts.Host, error) {
	kh, ok := a.conn.Host.(hosts.VerifiedHost)
	if !ok || kh.HostKey() == nil {
		return nil, fmt.Errorf("cannot confirm the new SSH path: the bootstrap session has no verified host key")
	}
	cfg := a.host.Conn
	cfg.ExpectHostKey = kh.HostKey()
	// A refused connection is tried again for a while: sshd started by an
	// init script (`service ssh restart` without systemd) forks into the
	// background before it listens, so the restart can return before the
	// new port answers. Anything else (a refused key, a timeout) is an
	// answer already.
	deadline := time.Now().Add(min(refusedRetry, guard/4))
	for {
		c, err := o.dial(ctx, cfg)
		if err == nil {
			noteHostKey(c, func(n string) { a.rep.Note(a.host.Name, n) })
			return c, nil
		}
		if !errors.Is(err, hosts.ErrConnectionRefused) || !time.Now().Before(deadline) {
			return nil, fmt.Errorf("the new SSH path (%s@%s:%d) does not work: %w", cfg.User, cfg.Address, cfg.Port, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(refusedPause):
		}
	}
}

// refusedRetry bounds how long confirmNewPath tries a refused connection
// again, every refusedPause: long enough for a restarted sshd to bind on
// a loaded machine; and at most a quarter of the guard's timer, which must
// not roll back before the confirmed path is disarmed.
var refusedRetry, refusedPause = 15 * time.Second, 250 * time.Millisecond

// convergeAgain checks every task once more over the new connection and
// applies what still differs, reporting only what changed.
func (a *hostApply) convergeAgain(ctx context.Context) {
	if a.failed {
		return
	}
	state, err := a.conn.gather(ctx, stepProbes(a.host.Steps, a.host.Steps))
	if err != nil && ctx.Err() != nil {
		a.failHost(fmt.Errorf("interrupted after the move was confirmed: it stands%s; the pass that removes the temporary rule for this machine did not run: apply again", a.standsOn(true)))
		return
	}
	if err != nil {
		a.failHost(fmt.Errorf("checking the host over the new SSH path: %w", err))
		return
	}
	a.quiet = true
	a.runTasks(ctx, state, nil)
	a.runHandlers(ctx)
}

// standsOn says where SSH answers once a confirmed change stands: after
// a move, the new port and user.
func (a *hostApply) standsOn(moving bool) string {
	if !moving {
		return ""
	}
	return fmt.Sprintf(" (SSH on port %d as %s)", a.host.Conn.Port, a.host.Conn.User)
}

// disarmTimeout bounds the disarm, which an interrupt does not cut short.
const disarmTimeout = 30 * time.Second

// failHost records a failure of the host as a whole.
func (a *hostApply) failHost(err error) {
	a.recap.Failed++
	a.recap.Unreachable = fmt.Errorf("host %s: %w", a.host.Name, err)
	a.failed = true
}
