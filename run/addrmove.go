package run

import (
	"context"
	"fmt"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// An address move: a task (tasks.AddressMover, a NetworkManager
// connection brought up with a new static address) moves the address
// hako is connected to. Its Apply only writes the configuration; the move
// itself ends the session, so the run makes it after every other task and
// handler, detached from the session, and then, when the guard is armed
// (-confirm), logs in again and confirms only over a connection that
// reached the host somewhere other than the old address.

// addressMove is a move the run makes last.
type addressMove struct {
	task    tasks.Address
	cmd, to string
}

// moveDelay lets the command that starts a move return over the session
// before the move ends it.
const moveDelay = 2 * time.Second

// noteMove records the move a task's applied change makes, if any.
func (a *hostApply) noteMove(s *plan.Step, c *tasks.Change) {
	m, ok := s.Task.(tasks.AddressMover)
	if !ok {
		return
	}
	if cmd, to := m.Move(c); cmd != "" {
		a.moves = append(a.moves, addressMove{task: s.Task.Address(), cmd: cmd, to: to})
	}
}

// makeMoves starts the recorded moves, each in a session of its own on
// the host (setsid) that outlives hako's, after moveDelay. After a failed
// task it makes none: the plan did not converge, and the configuration
// written applies at the next boot.
func (a *hostApply) makeMoves(ctx context.Context) error {
	if len(a.moves) == 0 {
		return nil
	}
	if a.failed {
		a.rep.Note(a.host.Name, "a task failed: the address move is not made now; the new configuration applies at the next boot")
		a.moves = nil
		return nil
	}
	for _, m := range a.moves {
		script := fmt.Sprintf("setsid -f sh -c %s </dev/null >/dev/null 2>&1",
			hosts.Quote(fmt.Sprintf("sleep %d; %s", int(moveDelay/time.Second), m.cmd)))
		res, err := a.conn.Run(ctx, script)
		if err == nil && res.ExitCode != 0 {
			err = fmt.Errorf("exit status %d", res.ExitCode)
		}
		if err != nil {
			return fmt.Errorf("%s: starting the address move: %w", m.task, err)
		}
		to := m.to
		if to == "" {
			to = "a DHCP address"
		}
		a.rep.Note(a.host.Name, fmt.Sprintf("%s: moving the host to %s now; this session ends", m.task, to))
	}
	return nil
}

// moveWait bounds how long hako tries to log in again after a move: the
// connection must come up (DHCP may take a while) well before the guard's
// timer rolls it back.
func moveWait(guard time.Duration) time.Duration { return min(guard/2, 3*time.Minute) }

// confirmMoved logs in again after the moves, as confirmNewPath does, at
// the address the move gave the host when the plan's address is the old
// one. A connection that still reaches the old address (the move has not
// happened yet) does not count: the guard must not be disarmed before the
// change it guards. It retries until wait has passed.
func (a *hostApply) confirmMoved(ctx context.Context, o Options, from string, wait time.Duration) (hosts.Host, error) {
	kh, ok := a.conn.Host.(hosts.VerifiedHost)
	if !ok || kh.HostKey() == nil {
		return nil, fmt.Errorf("cannot log in again after the address move: the session has no verified host key")
	}
	cfg := a.host.Conn
	cfg.ExpectHostKey = kh.HostKey()
	if len(a.moves) == 1 && a.moves[0].to != "" && cfg.Address == from {
		cfg.Address = a.moves[0].to
	}
	deadline := time.Now().Add(wait)
	var last error
	for {
		c, err := o.dial(ctx, cfg)
		if err == nil {
			// Counted with the run's other probes (-v).
			if a.conn.probed == nil {
				a.conn.probed = &probeCount{}
			}
			var st *tasks.State
			if st, err = (&session{Host: c, probed: a.conn.probed}).gather(ctx, nil); err == nil && st.Endpoint.ServerAddr == from {
				err = fmt.Errorf("it still reached the old address %s", from)
			}
			if err == nil {
				noteHostKey(c, func(n string) { a.rep.Note(a.host.Name, n) })
				return c, nil
			}
			c.Close()
		}
		last = err
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("logging in again after the address move (%s@%s:%d) did not work within %v: %w", cfg.User, cfg.Address, cfg.Port, wait, last)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
