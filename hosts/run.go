package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// scriptShell is the whole command line hako starts for a script; the
// script itself travels on standard input. Command lines are logged (sudo
// writes them to the host's journal) and shown by ps to every user, and a
// script may carry secrets; stdin has no ARG_MAX either. The shell reads
// all of it before running any, so the script's commands find their
// standard input at its end, as with an empty stdin.
const scriptShell = `sh -c '` + evalStdin + `'`

const evalStdin = `eval "$(cat)"`

// shellCommand runs scriptShell as root through sudo when become is set.
// -n makes sudo fail instead of waiting for a password nobody can type.
// sudo drops SSH_CONNECTION, which says how the host sees this connection
// (lockout checks need it): it is passed on as HAKO_SSH_CONNECTION.
func shellCommand(become bool) string {
	if become {
		return `sudo -n -- env HAKO_SSH_CONNECTION="$SSH_CONNECTION" ` + scriptShell
	}
	return scriptShell
}

// Run runs cmd in a new session on the host's connection. A non-zero exit
// (or death by signal, as 128+n) is returned in Result; the error is for
// transport problems and cancellation. The command text is not put into
// errors, nor on the host's command line: it may carry secrets.
func (h *SSHHost) Run(ctx context.Context, cmd string) (Result, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("host %q: run: waiting for a free session: %w", h.name, ctx.Err())
	}
	defer func() { <-h.sem }()

	s, err := h.client.NewSession()
	if err != nil {
		return Result{}, fmt.Errorf("host %q: run: open session: %w", h.name, err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	s.Stdin = strings.NewReader(cmd)
	if err := s.Start(shellCommand(h.become)); err != nil {
		return Result{}, fmt.Errorf("host %q: run: start command: %w", h.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Ask for the process to die, then drop the channel either way;
		// closing it makes Wait return.
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		<-done
		return Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1},
			fmt.Errorf("host %q: run: %w", h.name, ctx.Err())
	}
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitStatus()
		return res, nil
	}
	res.ExitCode = -1
	return res, fmt.Errorf("host %q: run: %w (connection lost?)", h.name, err)
}
