package hosts

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// evalStdin is the shell code hako starts for a script; the script
// itself travels on standard input. Command lines are logged (sudo
// writes them to the host's journal) and shown by ps to every user, and a
// script may carry secrets; stdin has no ARG_MAX either. The shell reads
// all of it before running any, so the script's commands find their
// standard input at its end, as with an empty stdin.
const evalStdin = `eval "$(cat)"`

// shellCommand is the command line Run starts: `sh -c` with evalStdin
// (with a become password, after the check of the marker, see sudoer), through sudo when the host uses become. sudo
// drops SSH_CONNECTION, which says how the host sees this connection
// (lockout checks need it): it is passed on as HAKO_SSH_CONNECTION.
// HAKO_RUN names this run, so that the processes it started can be found
// after a cancel (see sweep); HAKO_CONN names the connection (see
// SSHHost.conn), so that the host's rollback guard can end every process
// the connection started before it restores; both are random, not
// secrets.
//
// GNU timeout runs the shell: at the limit, or when it is sent SIGTERM,
// it signals the shell's whole process group (TERM, then KILL 10 s
// later), so that the script's commands end on the host too. A session
// without a terminal leaves its processes running when it closes, and
// sshd sends a "signal" request only to the process it started: exec
// makes that sudo (which passes TERM on to its command, env then timeout)
// or timeout itself. Without a limit timeout runs all the same, with 0
// (no limit), for the TERM it passes on.
//
// Unless guardCmd, the shell first checks that no rollback guard on the
// host has rolled back the changes of this connection (see guardCheck).
func shellCommand(su *sudoer, conn, run string, limit time.Duration, guardCmd bool) string {
	body := evalStdin
	if !guardCmd {
		body = guardCheck(conn) + body
	}
	cmd := fmt.Sprintf("env HAKO_RUN=%s HAKO_CONN=%s HAKO_SSH_CONNECTION=\"$SSH_CONNECTION\" timeout -k 10s %.3fs %s", run, conn, max(limit, 0).Seconds(), su.shell(body))
	if su == nil {
		return "exec " + cmd
	}
	return "exec " + su.prefix() + cmd
}

// newRunID is a fresh HAKO_RUN value: 128 random bits, hex.
func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (it panics instead)
	return hex.EncodeToString(b[:])
}

// Exit statuses of timeout(1) when the limit struck: the command was
// terminated (TERM), or killed when TERM was not enough.
const (
	exitTimedOut = 124
	exitKilled   = 128 + 9
)

// timeoutGrace is how long hako waits beyond the limit before it gives up
// on the host's timeout (not installed, or the host is stuck) and ends the
// session itself: timeout's own KILL comes 10 s after its TERM.
const timeoutGrace = 30 * time.Second

// Run runs cmd in a new session on the host's connection. A non-zero exit
// (or death by signal, as 128+n) is returned in Result; the error is for
// transport problems, cancellation and a command that outlived the
// host's CommandTimeout (it is killed then). The command text is not put
// into errors, nor on the host's command line: it may carry secrets.
// Output beyond MaxStdout and MaxStderr is dropped (see Result).
func (h *SSHHost) Run(ctx context.Context, cmd string) (Result, error) {
	return h.run(ctx, cmd, true)
}

// run is Run; sweep says whether a cancelled command's leftovers are
// swept (the sweep's own run is not). With become, the first command
// settles sudo (see becomeState): run as a trial, it settles sudo -n as
// soon as its marker shows that sudo ran it; when sudo ran nothing,
// setupBecome checks sudo, and the command runs again through the
// password when that is what sudo needs. (Without the password's line
// first on its standard input no password-asking sudo ran the trial.)
func (h *SSHHost) run(ctx context.Context, cmd string, sweep bool) (Result, error) {
	// A cancelled run starts nothing more on the host (select below
	// chooses at random when both cases are ready).
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("host %q: run: %w", h.name, err)
	}
	trial, err := h.settle(ctx, true)
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	if !trial {
		return h.runAs(ctx, h.sudoNow(), nil, cmd, sweep)
	}
	t := &trialRun{h: h}
	defer t.giveUp()
	res, err := h.runAs(ctx, h.trialSudoer(), t, cmd, sweep)
	if err != nil || t.ran.Load() {
		return res, err
	}
	// sudo ran nothing of it: check sudo as before any command.
	err = h.setupBecome(ctx)
	t.giveUp()
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	if h.sudoNow().password == "" {
		// sudo -n works, yet did not run the trial (a command of the
		// chain missing, a passing failure): its result stands, as that
		// of any other command whose sudo failed.
		return res, nil
	}
	return h.runAs(ctx, h.sudoNow(), nil, cmd, sweep)
}

// trialRun is the first command's part in settling sudo.
type trialRun struct {
	h    *SSHHost
	ran  atomic.Bool // the marker came: sudo -n ran the command
	once sync.Once
}

// marked settles sudo -n: sudo ran the trial without a password.
func (t *trialRun) marked() {
	t.ran.Store(true)
	t.once.Do(func() {
		t.h.settleWith(t.h.trialSudoer().settled(), nil)
		<-t.h.bst.turn
	})
}

// giveUp lets the next command settle sudo, unless this one did already.
// nil-safe.
func (t *trialRun) giveUp() {
	if t != nil {
		t.once.Do(func() { <-t.h.bst.turn })
	}
}

// runAs runs cmd through su (nil: no sudo); t is the trial run when this
// is one.
func (h *SSHHost) runAs(ctx context.Context, su *sudoer, t *trialRun, cmd string, sweep bool) (Result, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("host %q: run: waiting for a free session: %w", h.name, ctx.Err())
	}
	held := true
	release := func() {
		if held {
			held = false
			<-h.sem
		}
	}
	defer release()

	s, err := h.client.NewSession()
	if err != nil {
		return Result{}, fmt.Errorf("host %q: run: open session: %w", h.name, h.lost(err))
	}
	defer s.Close()
	stdout := &headWriter{max: MaxStdout}
	stderr := &tailWriter{max: MaxStderr}
	s.Stdout, s.Stderr = stdout, stderr
	if t != nil {
		s.Stdout = &markerWriter{w: stdout, seen: t.marked}
	}
	s.Stdin = su.stdin(strings.NewReader(cmd))
	started := time.Now()
	run := newRunID()
	limit, ofTask := h.cmdTimeout, false
	if d, ok := ctx.Value(taskTimeoutKey{}).(time.Duration); ok {
		limit, ofTask = d, true
	}
	guardCmd := ctx.Value(guardCommandKey{}) != nil
	if err := s.Start(shellCommand(su, h.conn, run, limit, guardCmd)); err != nil {
		return Result{}, fmt.Errorf("host %q: run: start command: %w", h.name, h.lost(err))
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	var timeout <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit + timeoutGrace)
		defer t.Stop()
		timeout = t.C
	}
	result := func() Result {
		out, cut := stdout.bytes()
		return Result{Stdout: out, Stderr: stderr.bytes(), StdoutTruncated: cut}
	}
	var stopped error
	select {
	case err = <-done:
	case <-ctx.Done():
		stopped = ctx.Err()
	case <-timeout:
		stopped = timedOut(limit, ofTask)
	}
	if stopped != nil {
		// The session's end is not proof that its processes ended: one
		// may outlive the process sshd started (timeout(1) of coreutils
		// 9.1 exits at once, leaving its command running, when TERM comes
		// while it forks), and one may have let go of the session's
		// output. The sweep ends them.
		var sweepNow func() bool
		swept := false
		if sweep {
			sweepNow = func() bool {
				swept = true
				// The sweep needs a session of its own (while the
				// stopped one may still be open: maxSessions leaves
				// room for it) and sudo, settled or not.
				release()
				t.giveUp()
				return h.sweep(run)
			}
		}
		ended := stopCommand(s, done, sweepNow)
		if sweep && !swept {
			s.Close()
			ended = sweepNow()
		}
		res := result()
		res.ExitCode = -1
		if !ended {
			return res, fmt.Errorf("host %q: run: %w (and the host did not confirm that the command ended: it may still be running there)", h.name, stopped)
		}
		return res, fmt.Errorf("host %q: run: %w", h.name, stopped)
	}
	res := result()
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitStatus()
		if !guardCmd && refusedByGuard(res.ExitCode, res.Stderr) {
			res.ExitCode = -1
			return res, fmt.Errorf("host %q: %w", h.name, ErrGuardRolledBack)
		}
		if limit > 0 && (res.ExitCode == exitTimedOut || res.ExitCode == exitKilled) && time.Since(started) >= limit {
			res.ExitCode = -1
			return res, fmt.Errorf("host %q: run: %w", h.name, timedOut(limit, ofTask))
		}
		return res, nil
	}
	res.ExitCode = -1
	if why := h.alive.reason(); why != nil {
		return res, fmt.Errorf("host %q: run: %w", h.name, why)
	}
	if h.connClosed() {
		return res, fmt.Errorf("host %q: run: the connection was closed while the command ran, so whether it finished is unknown (the host rebooted, or sshd was stopped or restarted?): %w", h.name, err)
	}
	return res, fmt.Errorf("host %q: run: %w (connection lost?)", h.name, err)
}

// connClosed reports whether the connection is known to be gone: a
// global request on a closed connection fails at once. One that gets no
// answer within a few seconds is not called closed (the keepalive decides
// that).
func (h *SSHHost) connClosed() bool {
	answer := make(chan error, 1)
	go func() {
		_, _, err := h.client.SendRequest("keepalive@openssh.com", true, nil)
		answer <- err
	}()
	select {
	case err := <-answer:
		return err != nil
	case <-time.After(5 * time.Second):
		return false
	}
}

func timedOut(limit time.Duration, ofTask bool) error {
	if ofTask {
		return fmt.Errorf("the command was still running after %s, the task's timeout; it was killed", limit)
	}
	return fmt.Errorf("the command was still running after %s, the command timeout; it was killed", limit)
}

type taskTimeoutKey struct{}

type guardCommandKey struct{}

// GuardCommand returns ctx under which Run starts its command even when a
// rollback guard on the host has rolled back this connection's changes
// (see guardCheck): the guard's own commands (disarm, rollback) must
// still get their answer then.
func GuardCommand(ctx context.Context) context.Context {
	return context.WithValue(ctx, guardCommandKey{}, true)
}

// WithTaskTimeout returns ctx under which Run limits the command it starts
// to d (a task's own `timeout`) instead of the host's CommandTimeout: a
// task knows best how long its command may take.
func WithTaskTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, taskTimeoutKey{}, d)
}

// lost is err, or the keepalive's reason when it closed the connection.
func (h *SSHHost) lost(err error) error {
	if why := h.alive.reason(); why != nil {
		return why
	}
	return err
}

// stopGrace bounds how long Run waits, after asking a command to end,
// for the host to report that it has: TERM ends a script at once, and
// timeout(1) kills what it did not 10 s later.
const stopGrace = 15 * time.Second

// stopResend is how often TERM is sent again until the command has
// ended: sshd signals the command's process group, and a request that
// reaches it before that group exists (the command was started a moment
// before) is lost.
const stopResend = 500 * time.Millisecond

// stopCommand asks the command of session s to end and waits, at most
// stopGrace, for its exit status (done): a cancelled run must not go on
// (a rollback above all) while its command still changes the host. TERM
// reaches sudo, which passes it on, and timeout, which ends the whole
// script. When the session outlasts stopGrace, sweep (when not nil) runs
// before the session is closed, and its answer is the result: a session
// still open after its command was told to end has processes holding its
// output (timeout(1) gone, its command never told), and the sweep's TERM
// must find that output still open. Closed, it breaks their next write
// with SIGPIPE, which ends them before their TERM handling: dash, for
// one, writes "Terminated" for a child the TERM killed before it runs
// its trap. It reports whether the command ended; either way the channel
// is closed, which makes Wait return.
func stopCommand(s *ssh.Session, done <-chan error, sweep func() bool) bool {
	// Signal writes to the connection, which blocks when the connection
	// is dead: the waiting must not depend on it.
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		t := time.NewTicker(stopResend)
		defer t.Stop()
		for {
			if s.Signal(ssh.SIGTERM) != nil {
				return
			}
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
	}
	ended := false
	if sweep != nil {
		ended = sweep()
	}
	// sshd answers the close only once the command has ended: wait no
	// longer for that (done is buffered; its goroutine ends with the
	// connection).
	s.Close()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	return ended
}

//go:embed sweep.sh
var sweepScript string

// sweepGrace bounds a sweep: sweep.sh's 10 s of TERM and its KILL, and
// the round trip (the connection may be the reason for the cancel).
const sweepGrace = 20 * time.Second

// sweep ends, in a session of its own, every process that still carries
// HAKO_RUN=run (see sweep.sh) and reports whether none is left. A run
// that was cancelled returns only then: what runs next (a rollback above
// all) must not run beside it.
func (h *SSHHost) sweep(run string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), sweepGrace)
	defer cancel()
	res := make(chan bool, 1)
	go func() {
		// It only ends what the run left: the guard's refusal (see
		// guardCheck) does not hold it back.
		r, err := h.run(GuardCommand(ctx), "RUN="+run+"\n"+sweepScript, false)
		res <- err == nil && r.ExitCode == 0
	}()
	select {
	case ok := <-res:
		return ok
	case <-ctx.Done():
		return false
	}
}
