//go:build unix

package hosts

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proxyCommandConn starts ProxyCommand (through the user's shell, as ssh
// does) with one end of a socket pair as its standard input and output,
// and returns the other end: a net.Conn with working deadlines, so the
// handshake timeout covers a proxy that never answers.
func proxyCommandConn(command string) (net.Conn, *proxyProcess, error) {
	// Close-on-exec under ForkLock, as os/exec does: SOCK_CLOEXEC is not
	// on every Unix (macOS), and a command started by another goroutine
	// meanwhile must not inherit our end (the proxy would never see EOF).
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "proxycommand"), os.NewFile(uintptr(fds[1]), "proxycommand-child")
	defer theirs.Close()
	defer ours.Close() // FileConn dups it
	shell := os.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	p := &proxyProcess{done: make(chan struct{})}
	// exec: the shell is replaced by the command, so killing it ends the proxy.
	p.cmd = exec.Command(shell, "-c", "exec "+command)
	p.cmd.Env = childEnv()
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = theirs, theirs, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	conn, err := net.FileConn(ours)
	if err != nil {
		return nil, nil, err
	}
	if err := p.cmd.Start(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return &proxyConn{Conn: conn, p: p}, p, nil
}

// proxyProcess is a running ProxyCommand; Close ends it (and its process
// group: `exec` may still leave children, like a shell pipeline).
type proxyProcess struct {
	cmd    *exec.Cmd
	stderr proxyStderr
	done   chan struct{}
	err    error
	once   sync.Once
}

func (p *proxyProcess) Close() error {
	p.once.Do(func() {
		select {
		case <-p.done:
		case <-time.After(2 * time.Second): // it saw EOF on its stdin and did not exit
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(2 * time.Second):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
			}
		}
	})
	return nil
}

// proxyConn closes the socket first, so a well-behaved proxy sees EOF and
// exits on its own before Close reaps it. Its errors say what the proxy
// printed and how it ended.
type proxyConn struct {
	net.Conn
	p *proxyProcess
}

func (c *proxyConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, c.explain(err)
}

// Write is explained as Read is: the handshake writes first, so a proxy
// that has already exited may show up here, as a broken pipe, rather
// than as an EOF on the next read; which comes first depends on the
// scheduler.
func (c *proxyConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, c.explain(err)
}

// explain adds how the proxy ended and what it printed to an error on
// its socket. The socket fails as soon as the proxy's end closes, a
// moment before Wait reaps the process, so it waits briefly for that;
// only failures pay the wait.
func (c *proxyConn) explain(err error) error {
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return err // nothing the proxy did: our own deadline or Close
	}
	select {
	case <-c.p.done:
		return fmt.Errorf("the ProxyCommand ended (%v)%s: %w", c.p.err, c.p.stderr.tail(), err)
	case <-time.After(time.Second):
		return err
	}
}

func (c *proxyConn) Close() error {
	err := c.Conn.Close()
	c.p.Close()
	return err
}

// proxyStderr keeps what the proxy printed on stderr (the last 2 KiB).
type proxyStderr struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *proxyStderr) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if l.b.Len() > 4096 {
		keep := append([]byte(nil), l.b.Bytes()[l.b.Len()-2048:]...)
		l.b.Reset()
		l.b.Write(keep)
	}
	return len(p), nil
}

func (l *proxyStderr) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSpace(l.b.String())
	if len(s) > 2048 {
		s = s[len(s)-2048:]
	}
	if s == "" {
		return ""
	}
	return ", it said: " + s
}
