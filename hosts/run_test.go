package hosts

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A host's output is bounded: standard output keeps its first MaxStdout
// bytes and says it was cut; standard error its last MaxStderr, after a
// line saying what was dropped. The command itself runs to its end.
func TestRunOutputIsBounded(t *testing.T) {
	h := newFixture(t).dial(t)
	res, err := h.Run(t.Context(), "head -c 100000000 /dev/zero; head -c 5000000 /dev/zero | tr '\\0' x >&2; echo the-end >&2; exit 4")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 4 {
		t.Errorf("exit %d, want 4", res.ExitCode)
	}
	if len(res.Stdout) != MaxStdout || !res.StdoutTruncated || cap(res.Stdout) > 2*MaxStdout {
		t.Errorf("stdout: %d bytes (cap %d), truncated %v; want the first %d and truncated", len(res.Stdout), cap(res.Stdout), res.StdoutTruncated, MaxStdout)
	}
	note, rest, _ := bytes.Cut(res.Stderr, []byte("\n"))
	if string(note) != "[hako: 3951432 earlier bytes of standard error dropped]" || len(rest) != MaxStderr ||
		!bytes.HasSuffix(rest, []byte("xxxthe-end\n")) {
		t.Errorf("stderr: %.80q ... %q (%d bytes after the first line)", note, res.Stderr[max(0, len(res.Stderr)-20):], len(rest))
	}

	// Output within the bounds is whole.
	res, err = h.Run(t.Context(), "head -c 3000000 /dev/zero")
	if err != nil || len(res.Stdout) != 3000000 || res.StdoutTruncated {
		t.Errorf("3 MB: %d bytes, truncated %v, %v", len(res.Stdout), res.StdoutTruncated, err)
	}
}

// A command that prints for ever ends at the command timeout, its output
// bounded all along, and the connection stays usable.
func TestRunCommandTimeout(t *testing.T) {
	f := newFixture(t)
	f.cfg.CommandTimeout = 3 * time.Second
	h := f.dial(t)
	res, err := h.Run(t.Context(), "yes")
	if err == nil || !strings.Contains(err.Error(), `host "box": run: the command was still running after 3s, the command timeout; it was killed`) {
		t.Fatalf("err %v", err)
	}
	if len(res.Stdout) > MaxStdout || res.ExitCode != -1 {
		t.Errorf("stdout %d bytes, exit %d", len(res.Stdout), res.ExitCode)
	}
	if res, err := h.Run(t.Context(), "echo ok"); err != nil || string(res.Stdout) != "ok\n" {
		t.Errorf("after the timeout: %q %v", res.Stdout, err)
	}
	deadline := time.Now().Add(time.Minute)
	for f.srv.running.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.srv.running.Load(); n != 0 {
		t.Errorf("%d commands still run on the server", n)
	}
}

// A host that stops answering in the middle of a command (power cut, a
// network that drops everything) is noticed by the keepalive: the command
// fails with the reason instead of waiting for ever.
func TestKeepaliveNoticesASilentHost(t *testing.T) {
	f := newFixture(t)
	// Generous: a loaded machine (the race detector, real test hosts
	// beside) can stall the in-process server for a second; a healthy
	// connection must not look dead then.
	f.cfg.ServerAliveInterval = 500 * time.Millisecond
	f.cfg.ServerAliveCountMax = 8
	h := f.dial(t)

	// An idle, healthy connection outlives many intervals: the server's
	// "unknown request" replies count as answers.
	time.Sleep(3 * time.Second)
	if res, err := h.Run(t.Context(), "echo ok"); err != nil || string(res.Stdout) != "ok\n" {
		t.Fatalf("healthy connection: %q %v", res.Stdout, err)
	}

	type ran struct {
		res Result
		err error
	}
	done := make(chan ran, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	go func() {
		res, err := h.Run(ctx, "sleep 600")
		done <- ran{res, err}
	}()
	for f.srv.running.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	f.srv.frozen.Store(true)
	r := <-done
	if errors.Is(r.err, context.DeadlineExceeded) || r.err == nil ||
		!strings.Contains(r.err.Error(), `host "box": run: the host did not answer 8 keepalives in 4s (the host or the network is down); the connection was closed`) {
		t.Fatalf("err %v", r.err)
	}
	if _, err := h.Run(t.Context(), "true"); err == nil || !strings.Contains(err.Error(), "keepalives") {
		t.Errorf("after: %v", err)
	}
}
