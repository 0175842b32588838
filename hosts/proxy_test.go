package hosts

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// withForwarding makes the test server a jump host: it opens direct-tcpip
// channels, to loopback addresses only.
func withForwarding() serverOption {
	return func(s *testServer) { s.forward = true }
}

func (s *testServer) forwardTCP(nch ssh.NewChannel) {
	var req struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nch.ExtraData(), &req); err != nil {
		nch.Reject(ssh.ConnectionFailed, "bad request")
		return
	}
	if ip := net.ParseIP(req.Host); ip == nil || !ip.IsLoopback() {
		nch.Reject(ssh.Prohibited, "only loopback")
		return
	}
	c, err := net.Dial("tcp", net.JoinHostPort(req.Host, fmt.Sprint(req.Port)))
	if err != nil {
		msg := err.Error()
		if errors.Is(err, syscall.ECONNREFUSED) {
			msg = "Connection refused" // what sshd says
		}
		nch.Reject(ssh.ConnectionFailed, msg)
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		c.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(c, ch); c.(*net.TCPConn).CloseWrite() }()
	go func() { defer wg.Done(); io.Copy(ch, c); ch.CloseWrite() }()
	wg.Wait()
	ch.Close()
	c.Close()
}

// jumpFixture is a target host and a jump host, the same user key on
// both, one known_hosts file with both host keys.
func jumpFixture(t *testing.T) (target *fixture, jump *testServer) {
	t.Helper()
	target = newFixture(t)
	jump = startServer(t, target.srv.userKey, withForwarding())
	f, err := os.OpenFile(target.cfg.KnownHostsFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, knownHostsLine(jump.addr, jump.hostKeys[0].PublicKey()))
	f.Close()
	target.cfg.Jumps = []Config{{Name: "bastion", Address: "127.0.0.1", Port: jump.port, User: "tester",
		IdentityFiles: target.cfg.IdentityFiles, KnownHostsFile: target.cfg.KnownHostsFile, ConnectTimeout: 5 * time.Second}}
	return target, jump
}

func TestDialThroughJumpHost(t *testing.T) {
	f, _ := jumpFixture(t)
	h := f.dial(t)
	if res, err := h.Run(t.Context(), "echo hi"); err != nil || string(res.Stdout) != "hi\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
	if e := h.Endpoint(); e.ClientAddr != "" || e.ServerPort != f.cfg.Port {
		t.Errorf("Endpoint() = %+v: the client address of a forwarded channel means nothing", e)
	}
	if err := h.Close(); err != nil {
		t.Error(err)
	}
}

// Two jump hosts: the second is reached through the first.
func TestDialThroughTwoJumpHosts(t *testing.T) {
	f, first := jumpFixture(t)
	second := startServer(t, f.srv.userKey, withForwarding())
	appendLine(f.cfg.KnownHostsFile, knownHostsLine(second.addr, second.hostKeys[0].PublicKey()))
	hop2 := f.cfg.Jumps[0]
	hop2.Name, hop2.Port = "inner", second.port
	f.cfg.Jumps = append(f.cfg.Jumps, hop2)
	h := f.dial(t)
	if res, err := h.Run(t.Context(), "echo two"); err != nil || string(res.Stdout) != "two\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
	for _, s := range []*testServer{first, second} {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n != 1 {
			t.Errorf("jump host %s had %d connections, want 1", s.addr, n)
		}
	}
}

func TestJumpHostKeyChangedIsRefused(t *testing.T) {
	f, jump := jumpFixture(t)
	// known_hosts holds another key for the jump host: it was reinstalled,
	// or someone is in between.
	kh := readFile(t, f.cfg.KnownHostsFile)
	old := knownHostsLine(jump.addr, jump.hostKeys[0].PublicKey())
	kh = strings.Replace(kh, old, knownHostsLine(jump.addr, newEd25519Signer(t).PublicKey()), 1)
	if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(kh), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.AcceptNewHostKeys, f.cfg.Reprovision = true, true
	f.cfg.Jumps[0].AcceptNewHostKeys = true
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, `host "box": jump host "bastion"`, "HOST KEY CHANGED", "-reprovision is only for the plan's hosts", "ssh-keygen -R")
	var changed *HostKeyChangedError
	if !errors.As(err, &changed) || changed.Host != "bastion" {
		t.Errorf("not a HostKeyChangedError of the jump host: %#v", err)
	}
	if errors.Is(err, ErrNoTCPConnection) {
		t.Error("a jump host failure counts as no TCP connection (the bootstrap fallback would follow)")
	}
	if got := readFile(t, f.cfg.KnownHostsFile); got != kh {
		t.Errorf("known_hosts changed:\n%s", got)
	}
}

func TestJumpHostUnknownKeyIsRefused(t *testing.T) {
	f, _ := jumpFixture(t)
	other := filepath.Join(t.TempDir(), "kh")
	f.cfg.Jumps[0].KnownHostsFile = other
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, `host "box": through jump host "bastion"`, "unknown host key", other)
}

// The jump host reaches nothing on the host's port: that is "connection
// refused" as a direct dial would say, so a bootstrap port may be tried.
func TestRefusedBehindJumpHost(t *testing.T) {
	f, _ := jumpFixture(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	f.cfg.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "tcp connect from jump host \"bastion\"", "connection refused")
	if !errors.Is(err, ErrConnectionRefused) {
		t.Errorf("not ErrConnectionRefused: %v", err)
	}
}

func TestJumpHostDownIsNotTheHostsRefusal(t *testing.T) {
	f, _ := jumpFixture(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	f.cfg.Jumps[0].Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, `through jump host "bastion"`, "connection refused")
	if errors.Is(err, ErrNoTCPConnection) {
		t.Error("the jump host's refusal counts as the host's")
	}
}

// ProxyCommand with OpenSSH's own `ssh -W` through the jump host, the
// commonest ProxyCommand there is.
func TestDialProxyCommand(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no ssh client")
	}
	f, jump := jumpFixture(t)
	f.cfg.Jumps = nil
	f.cfg.ProxyCommand = fmt.Sprintf("%s -F /dev/null -o BatchMode=yes -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -i %s -p %d -W 127.0.0.1:%d tester@127.0.0.1",
		sshBin, f.cfg.KnownHostsFile, f.cfg.IdentityFiles[0], jump.port, f.cfg.Port)
	h := f.dial(t)
	if res, err := h.Run(t.Context(), "echo via-command"); err != nil || string(res.Stdout) != "via-command\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
	if err := h.Close(); err != nil {
		t.Error(err)
	}

	f.cfg.ProxyCommand = "sh -c 'echo no way >&2; exit 3'"
	_, err = Dial(t.Context(), f.cfg)
	wantContains(t, err, "the ProxyCommand ended (exit status 3), it said: no way")
}

// A proxy that never speaks is bounded by the connect timeout.
func TestProxyCommandTimeout(t *testing.T) {
	f := newFixture(t)
	f.cfg.ProxyCommand = "sleep 60"
	f.cfg.ConnectTimeout = 500 * time.Millisecond
	start := time.Now()
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "timed out")
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
}
