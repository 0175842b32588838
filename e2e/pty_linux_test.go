//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ptyRun is hako running on a pseudo-terminal: standard input, output and
// error are the terminal, which is its controlling terminal, as in an
// interactive shell. Everything hako writes, and anything the terminal
// echoes, arrives in out.
//
// The pty comes from golang.org/x/sys/unix (/dev/ptmx and two ioctls)
// rather than a pty module: x/sys is already in the module graph, and
// these tests run only on Linux.
type ptyRun struct {
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{} // closed when reading the master has ended
}

func startOnPty(t *testing.T, args ...string) *ptyRun {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyRun{master: master, done: make(chan struct{})}
	p.cmd = exec.Command(hakoBin, withConnectTimeout(args)...)
	p.cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, slave, slave
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close() // the child has it; reading the master ends (EIO) when the child is gone
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			k, err := master.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:k])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		master.Close()
	})
	return p
}

func (p *ptyRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the output holds s.
func (p *ptyRun) waitFor(t *testing.T, s string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); !strings.Contains(p.output(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q from hako within %v; output:\n%s", s, limit, p.output())
		}
	}
}

// typeSecret types s and Enter once the terminal no longer echoes: a
// program prompts, then turns echo off, so typing at the prompt alone
// could race it.
func (p *ptyRun) typeSecret(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		tio, err := unix.IoctlGetTermios(int(p.master.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the terminal still echoes after the prompt")
		}
	}
	if _, err := p.master.WriteString(s + "\r"); err != nil {
		t.Fatal(err)
	}
}

// wait waits for hako to exit and for its last output.
func (p *ptyRun) wait(t *testing.T) result {
	t.Helper()
	start := time.Now()
	err := p.cmd.Wait()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	r := result{stdout: p.output(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running hako: %v", err)
	}
	return r
}
