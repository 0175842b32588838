package hosts

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
//
// GNU timeout runs the shell: at the limit, or when it is sent SIGTERM,
// it signals the shell's whole process group (TERM, then KILL 10 s
// later), so that the script's commands end on the host too. A session
// without a terminal leaves its processes running when it closes, and
// sshd sends a "signal" request only to the process it started: exec
// makes that sudo (which passes TERM on to its command, env then timeout)
// or timeout itself. Without a limit timeout runs all the same, with 0
// (no limit), for the TERM it passes on.
func (h *SSHHost) shellCommand() string {
	cmd := fmt.Sprintf("timeout -k 10s %.3fs %s", max(h.cmdTimeout, 0).Seconds(), h.sudo.shell(evalStdin))
	if h.sudo == nil {
		return "exec " + cmd
	}
	return "exec " + h.sudo.prefix() + `env HAKO_SSH_CONNECTION="$SSH_CONNECTION" ` + cmd
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
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("host %q: run: waiting for a free session: %w", h.name, ctx.Err())
	}
	defer func() { <-h.sem }()

	s, err := h.client.NewSession()
	if err != nil {
		return Result{}, fmt.Errorf("host %q: run: open session: %w", h.name, h.lost(err))
	}
	defer s.Close()
	stdout := &headWriter{max: MaxStdout}
	stderr := &tailWriter{max: MaxStderr}
	s.Stdout, s.Stderr = stdout, stderr
	s.Stdin = h.sudo.stdin(strings.NewReader(cmd))
	started := time.Now()
	if err := s.Start(h.shellCommand()); err != nil {
		return Result{}, fmt.Errorf("host %q: run: start command: %w", h.name, h.lost(err))
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	var timeout <-chan time.Time
	if h.cmdTimeout > 0 {
		t := time.NewTimer(h.cmdTimeout + timeoutGrace)
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
		stopped = h.timedOut()
	}
	if stopped != nil {
		// Ask for the command to end (TERM: sudo passes it on, and
		// timeout ends the whole script), then drop the channel either
		// way; closing it makes Wait return.
		_ = s.Signal(ssh.SIGTERM)
		s.Close()
		<-done
		res := result()
		res.ExitCode = -1
		return res, fmt.Errorf("host %q: run: %w", h.name, stopped)
	}
	res := result()
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitStatus()
		if h.cmdTimeout > 0 && (res.ExitCode == exitTimedOut || res.ExitCode == exitKilled) && time.Since(started) >= h.cmdTimeout {
			res.ExitCode = -1
			return res, fmt.Errorf("host %q: run: %w", h.name, h.timedOut())
		}
		return res, nil
	}
	res.ExitCode = -1
	if why := h.alive.reason(); why != nil {
		return res, fmt.Errorf("host %q: run: %w", h.name, why)
	}
	return res, fmt.Errorf("host %q: run: %w (connection lost?)", h.name, err)
}

func (h *SSHHost) timedOut() error {
	return fmt.Errorf("the command was still running after %s, the command timeout; it was killed", h.cmdTimeout)
}

// lost is err, or the keepalive's reason when it closed the connection.
func (h *SSHHost) lost(err error) error {
	if why := h.alive.reason(); why != nil {
		return why
	}
	return err
}
