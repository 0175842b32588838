package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func wantContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got nil", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q\n  lacks %q", err, p)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDialIdentityFile(t *testing.T) {
	f := newFixture(t)
	h := f.dial(t)
	if h.Name() != "box" {
		t.Errorf("Name() = %q", h.Name())
	}
	if e := h.Endpoint(); e.ClientAddr != "127.0.0.1" || e.ServerPort != f.cfg.Port {
		t.Errorf("Endpoint() = %+v, want 127.0.0.1 and port %d", e, f.cfg.Port)
	}
	if res, err := h.Run(t.Context(), "echo hi"); err != nil || string(res.Stdout) != "hi\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := h.Run(t.Context(), "true"); err == nil {
		t.Error("Run after Close worked")
	}
}

func TestDialHomeExpansion(t *testing.T) {
	f := newFixture(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.Rename(f.cfg.IdentityFiles[0], filepath.Join(home, "id")); err != nil {
		t.Fatal(err)
	}
	f.cfg.IdentityFiles = []string{"~/id"}
	f.cfg.KnownHostsFile = "" // default ~/.ssh/known_hosts: created, then filled
	f.cfg.AcceptNewHostKeys = true
	f.dial(t)
	ssh := filepath.Join(home, ".ssh")
	for p, want := range map[string]os.FileMode{ssh: 0o700 | os.ModeDir, filepath.Join(ssh, "known_hosts"): 0o600} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode(), want)
		}
	}
	if got := readFile(t, filepath.Join(ssh, "known_hosts")); !strings.HasPrefix(got, "[127.0.0.1]:") {
		t.Errorf("known_hosts = %q", got)
	}
}

func TestDialWrongKey(t *testing.T) {
	f := newFixture(t)
	_, other := newEd25519(t)
	wrong := writeKeyFile(t, filepath.Join(f.dir, "id_wrong"), other, "")
	f.cfg.IdentityFiles = []string{wrong, filepath.Join(f.dir, "id_missing")}
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, `host "box"`, f.srv.addr, "authentication failed", `user "tester"`,
		"tried identity file "+wrong+" (ssh-ed25519 SHA256:", "id_missing (not found), ssh-agent (SSH_AUTH_SOCK not set)")
	if errors.Is(err, ErrConnectionRefused) || errors.Is(err, ErrNoTCPConnection) {
		t.Error("an auth failure matched ErrConnectionRefused or ErrNoTCPConnection")
	}

	// wrong user, right key
	f = newFixture(t)
	f.cfg.User = "mallory"
	_, err = Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed", `user "mallory"`)
}

// startAgent serves an in-process agent holding keys on a socket named by
// SSH_AUTH_SOCK for the rest of the test.
func startAgent(t *testing.T, keys ...any) {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(kr, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	t.Setenv("SSH_AUTH_SOCK", sock)
}

func TestDialAgent(t *testing.T) {
	f := newFixture(t)
	_, other := newEd25519(t)
	startAgent(t, f.userPriv)

	// the identity file's key is refused; the agent's key in the same
	// PublicKeysCallback gets its turn
	f.cfg.IdentityFiles = []string{writeKeyFile(t, filepath.Join(f.dir, "id_wrong"), other, "")}
	f.dial(t)

	// a passphrase-protected identity file is used through the agent
	f.cfg.IdentityFiles = []string{writeKeyFile(t, filepath.Join(f.dir, "id_enc"), f.userPriv, "secret")}
	f.dial(t)
}

func TestDialEncryptedKeyWithoutAgent(t *testing.T) {
	f := newFixture(t)
	f.cfg.IdentityFiles = []string{writeKeyFile(t, filepath.Join(f.dir, "id_enc"), f.userPriv, "secret")}
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed", "id_enc (passphrase-protected, not loaded in ssh-agent, and no terminal")
}

func TestUnknownHostKey(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(f.cfg.KnownHostsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Dial(t.Context(), f.cfg)
	var uerr *UnknownHostKeyError
	if !errors.As(err, &uerr) {
		t.Fatalf("want UnknownHostKeyError, got %v", err)
	}
	fp := ssh.FingerprintSHA256(f.srv.hostKeys[0].PublicKey())
	if uerr.Host != "box" || uerr.HostPort != f.srv.addr || uerr.KeyType != "ssh-ed25519" ||
		uerr.Fingerprint != fp || uerr.KnownHostsFile != f.cfg.KnownHostsFile {
		t.Errorf("%+v", uerr)
	}
	wantContains(t, err, `host "box"`, f.srv.addr, "ssh-ed25519 "+fp, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
		"-accept-new-host-keys", f.cfg.KnownHostsFile)
	if got := readFile(t, f.cfg.KnownHostsFile); got != "" {
		t.Errorf("known_hosts changed: %q", got)
	}
}

func TestAcceptNewHostKey(t *testing.T) {
	// The server also offers ECDSA, which x/crypto would pick by default:
	// the recorded key must be the ed25519 one.
	ed, ec := newEd25519Signer(t), newECDSASigner(t)
	f := newFixture(t, withHostKeys(ec, ed))
	kh := filepath.Join(f.dir, "new", "dir", "known_hosts") // missing: created
	f.cfg.KnownHostsFile = kh
	f.cfg.AcceptNewHostKeys = true
	f.dial(t)

	want := fmt.Sprintf("[127.0.0.1]:%d %s\n", f.srv.port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ed.PublicKey()))))
	if got := readFile(t, kh); got != want {
		t.Errorf("known_hosts:\n got %q\nwant %q", got, want)
	}

	// now known: a dial without the flag works and records nothing more
	f.cfg.AcceptNewHostKeys = false
	f.dial(t)
	if got := readFile(t, kh); got != want {
		t.Errorf("known_hosts changed on the second dial: %q", got)
	}
}

func TestAcceptNewHostKeyAppendsOnNewLine(t *testing.T) {
	f := newFixture(t)
	other := newEd25519Signer(t)
	unrelated := knownHostsLine("10.9.9.9:22", other.PublicKey()) // no trailing newline
	if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(unrelated), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.AcceptNewHostKeys = true
	f.dial(t)
	lines := strings.Split(readFile(t, f.cfg.KnownHostsFile), "\n")
	if len(lines) != 3 || lines[0] != unrelated || lines[1] != knownHostsLine(f.srv.addr, f.srv.hostKeys[0].PublicKey()) || lines[2] != "" {
		t.Errorf("known_hosts lines: %q", lines)
	}
}

func TestHostKeyChanged(t *testing.T) {
	f := newFixture(t)
	old := newEd25519Signer(t) // what the host had before it was "reflashed"
	content := "# comment\n" + knownHostsLine(f.srv.addr, old.PublicKey()) + "\n"
	if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.AcceptNewHostKeys = true // must not matter
	_, err := Dial(t.Context(), f.cfg)
	var cerr *HostKeyChangedError
	if !errors.As(err, &cerr) {
		t.Fatalf("want HostKeyChangedError, got %v", err)
	}
	fp := ssh.FingerprintSHA256(f.srv.hostKeys[0].PublicKey())
	at := f.cfg.KnownHostsFile + ":2"
	if cerr.Fingerprint != fp || cerr.KeyType != "ssh-ed25519" || len(cerr.KnownAt) != 1 || cerr.KnownAt[0] != at {
		t.Errorf("%+v", cerr)
	}
	wantContains(t, err, `host "box"`, "HOST KEY CHANGED", "man-in-the-middle", "reflashed", "ssh-ed25519 "+fp, at,
		fmt.Sprintf("ssh-keygen -R '[127.0.0.1]:%d'", f.srv.port), "-reprovision box",
		"ssh-ed25519 "+ssh.FingerprintSHA256(old.PublicKey()), strings.Fields(knownHostsLine(f.srv.addr, old.PublicKey()))[2])
	if got := readFile(t, f.cfg.KnownHostsFile); got != content {
		t.Errorf("known_hosts changed: %q", got)
	}
}

// A host that now offers only a key type other than the one on record has
// changed its key; it must not pass as a new host (and so be accepted).
func TestHostKeyTypeChanged(t *testing.T) {
	f := newFixture(t) // server: ed25519 only
	content := knownHostsLine(f.srv.addr, newECDSASigner(t).PublicKey()) + "\n"
	if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.AcceptNewHostKeys = true
	_, err := Dial(t.Context(), f.cfg)
	var cerr *HostKeyChangedError
	if !errors.As(err, &cerr) {
		t.Fatalf("want HostKeyChangedError, got %v", err)
	}
	if got := readFile(t, f.cfg.KnownHostsFile); got != content {
		t.Errorf("known_hosts changed: %q", got)
	}
}

// x/crypto prefers ECDSA: with only the ed25519 key on record, the client
// must ask for that key type, or the server shows its ECDSA key and the
// check reports a key mismatch.
func TestKnownKeyTypeIsNegotiated(t *testing.T) {
	ed, ec := newEd25519Signer(t), newECDSASigner(t)
	for _, known := range []ssh.Signer{ed, ec} {
		f := newFixture(t, withHostKeys(ec, ed))
		line := knownHostsLine(f.srv.addr, known.PublicKey()) + "\n"
		if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		f.dial(t)
	}
}

func TestKnownHostsLine(t *testing.T) {
	k := newEd25519Signer(t).PublicKey()
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	for hostport, want := range map[string]string{
		"10.0.0.5:22":     "10.0.0.5 " + key,
		"10.0.0.5:2222":   "[10.0.0.5]:2222 " + key,
		"pi.lan:22":       "pi.lan " + key,
		"[fd42::5]:22":    "fd42::5 " + key,
		"[fd42::5]:2222":  "[fd42::5]:2222 " + key,
		"raspberrypi:222": "[raspberrypi]:222 " + key,
	} {
		if got := knownHostsLine(hostport, k); got != want {
			t.Errorf("%s: %q, want %q", hostport, got, want)
		}
	}
}

func TestDialNoAddress(t *testing.T) {
	_, err := Dial(t.Context(), Config{Name: "box"})
	wantContains(t, err, `host "box"`, "no address")
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	f := newFixture(t)
	f.cfg.Port = addr.Port
	_, err = Dial(t.Context(), f.cfg)
	if !errors.Is(err, ErrConnectionRefused) || !errors.Is(err, syscall.ECONNREFUSED) || !errors.Is(err, ErrNoTCPConnection) {
		t.Fatalf("want ErrConnectionRefused, got %v", err)
	}
	wantContains(t, err, `host "box"`, addr.String(), "tcp connect", "connection refused")
}

func TestHandshakeTimeout(t *testing.T) {
	addr := silentListener(t)
	f := newFixture(t)
	_, port, _ := net.SplitHostPort(addr)
	fmt.Sscan(port, &f.cfg.Port)
	f.cfg.ConnectTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Dial(t.Context(), f.cfg)
	elapsed := time.Since(start)
	wantContains(t, err, `host "box"`, addr, "ssh handshake timed out after 300ms")
	if errors.Is(err, ErrConnectionRefused) || errors.Is(err, ErrNoTCPConnection) {
		t.Error("a handshake timeout matched ErrConnectionRefused or ErrNoTCPConnection: the TCP connection was made")
	}
	// The bound is what is tested (without it Dial hangs forever), so the
	// upper limit is loose enough for a loaded CI machine.
	if elapsed < 300*time.Millisecond || elapsed > 10*time.Second {
		t.Errorf("Dial returned after %v, want about 300ms", elapsed)
	}
	t.Logf("silent peer: Dial returned after %v with ConnectTimeout 300ms", elapsed)
}

func TestDialCancel(t *testing.T) {
	addr := silentListener(t)
	f := newFixture(t)
	_, port, _ := net.SplitHostPort(addr)
	fmt.Sscan(port, &f.cfg.Port)
	f.cfg.ConnectTimeout = 10 * time.Second
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Dial(ctx, f.cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second { // well under ConnectTimeout, loose for a loaded machine
		t.Errorf("Dial returned %v after cancel", d)
	}
}

// The session limit holds with runs and writes mixed, and the test really
// gets near it.
func TestSessionLimit(t *testing.T) {
	f := newFixture(t)
	h := f.dial(t)
	dir := t.TempDir()
	errs := make(chan error, 60)
	var running = make(chan struct{})
	for i := range 30 {
		go func() {
			<-running
			if i%3 == 0 {
				errs <- h.WriteFile(t.Context(), FileWrite{Path: filepath.Join(dir, fmt.Sprint(i)), Mode: 0o600, Owner: fmt.Sprint(os.Getuid())})
				return
			}
			_, err := h.Run(t.Context(), "sleep 0.2")
			errs <- err
		}()
	}
	close(running)
	for range 30 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	peak := f.srv.peak.Load()
	t.Logf("peak concurrent sessions on the server: %d", peak)
	if peak > maxSessions+1 || peak < maxSessions {
		t.Errorf("peak %d sessions at work, want %d exec + 1 sftp", peak, maxSessions)
	}
}

// With become, sudo's own complaint must reach the caller. (This sudo
// passes the connection's check, `sudo -k -n -- true`, and nothing else.)
func TestBecomeSudoFails(t *testing.T) {
	bin := t.TempDir()
	fake := "#!/bin/sh\n[ \"$*\" = '-k -n -- true' ] && exit 0\necho 'sudo: a password is required' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, withEnv("PATH="+bin+":"+os.Getenv("PATH")))
	f.cfg.Become = true
	h := f.dial(t)

	res, err := h.Run(t.Context(), "id -u")
	if err != nil || res.ExitCode != 1 || !strings.Contains(string(res.Stderr), "a password is required") {
		t.Errorf("Run: %+v %v", res, err)
	}
	err = h.WriteFile(t.Context(), FileWrite{Path: filepath.Join(t.TempDir(), "f"), Mode: 0o644})
	wantContains(t, err, `host "box"`, "start sftp", "sudo -n -- env HAKO_CONN=", sftpServerPath+" -u 077", "sudo: a password is required")
}

// With become the real OpenSSH sftp-server (through sudo) is used, so the
// fsync step is taken.
func TestBecomeUsesFsync(t *testing.T) {
	requireSudo(t)
	f := newFixture(t)
	f.cfg.Become = true
	h := f.dial(t)
	if err := h.WriteFile(t.Context(), FileWrite{Path: filepath.Join(t.TempDir(), "f"), Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if !h.sftpFsync {
		t.Error("OpenSSH sftp-server offers fsync@openssh.com, but it is not used")
	}
}

// Reprovision replaces a changed key on the host's ports (its own and
// HostPorts); another host's entries, and other ports of the same address
// (another machine behind a port forward), stay. A line that names this
// host and another keeps the other name.
func TestReprovisionReplacesChangedKey(t *testing.T) {
	f := newFixture(t)
	old := newEd25519Signer(t)
	other := knownHostsLine("127.0.0.2:22", old.PublicKey())
	forwarded := knownHostsLine("127.0.0.1:2201", old.PublicKey())
	shared := strings.Replace(knownHostsLine(f.srv.addr, old.PublicKey()), " ", ",alias.example ", 1)
	content := shared + "\n" + other + "\n" + knownHostsLine("127.0.0.1:2222", old.PublicKey()) + "\n" + forwarded + "\n"
	if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.Reprovision, f.cfg.HostPorts = true, []int{2222}
	h := f.dial(t)
	if h.Replaced == nil || h.Replaced.Removed != 2 || len(h.Replaced.Old) != 1 {
		t.Fatalf("replaced %+v", h.Replaced)
	}
	aliasOnly := strings.Replace(shared, strings.Fields(shared)[0], "alias.example", 1)
	newLine := knownHostsLine(f.srv.addr, f.srv.hostKeys[0].PublicKey())
	if got := readFile(t, f.cfg.KnownHostsFile); got != aliasOnly+"\n"+other+"\n"+forwarded+"\n"+newLine+"\n" {
		t.Errorf("known_hosts:\n%s", got)
	}
	f.cfg.Reprovision = false
	f.dial(t) // the new key is trusted now
}

// ExpectHostKey: a second connection must meet the key verified on the
// first; it is then recorded for this port.
func TestExpectHostKey(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(f.cfg.KnownHostsFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.ExpectHostKey = newEd25519Signer(t).PublicKey()
	_, err := Dial(t.Context(), f.cfg)
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("want HostKeyMismatchError, got %v", err)
	}
	if got := readFile(t, f.cfg.KnownHostsFile); got != "" {
		t.Errorf("known_hosts written: %q", got)
	}
	f.cfg.ExpectHostKey = f.srv.hostKeys[0].PublicKey()
	h := f.dial(t)
	if !bytes.Equal(h.HostKey().Marshal(), f.cfg.ExpectHostKey.Marshal()) {
		t.Error("HostKey() is not the verified key")
	}
	if got := readFile(t, f.cfg.KnownHostsFile); got != knownHostsLine(f.srv.addr, f.cfg.ExpectHostKey)+"\n" {
		t.Errorf("known_hosts: %q", got)
	}
}

// A fresh card whose user has only a password: the keys fail, the password
// works, and it appears in no error.
func TestDialPassword(t *testing.T) {
	f := newFixture(t, withPassword("raspberry-Secret"))
	_, otherKey := newEd25519(t)
	f.cfg.IdentityFiles = []string{writeKeyFile(t, filepath.Join(f.dir, "other"), otherKey, "")}
	f.cfg.Password = "wrong-Pw"
	_, err := Dial(t.Context(), f.cfg)
	if err == nil || strings.Contains(err.Error(), "wrong-Pw") {
		t.Fatalf("err = %v", err)
	}
	wantContains(t, err, "a password")
	f.cfg.Password = "raspberry-Secret"
	h := f.dial(t)
	if res, err := h.Run(t.Context(), "echo in"); err != nil || string(res.Stdout) != "in\n" {
		t.Errorf("%q %v", res.Stdout, err)
	}
}

// Which TCP connect failures let a caller try another port (bootstrap):
// those where no connection was made, and not a cancellation.
func TestTCPErrorClasses(t *testing.T) {
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	cfg := Config{Name: "box", ConnectTimeout: time.Second}
	for _, c := range []struct {
		name           string
		ctx            context.Context
		err            error
		refused, noTCP bool
		wantInMessage  string
	}{
		{"refused", t.Context(), syscall.ECONNREFUSED, true, true, "connection refused"},
		{"timed out", t.Context(), timeout, false, true, "timed out after 1s"},
		{"no route to host", t.Context(), syscall.EHOSTUNREACH, false, true, "unreachable (host down, or no route to it from here?): no route to host"},
		{"network unreachable", t.Context(), syscall.ENETUNREACH, false, true, "network is unreachable"},
		{"cancelled", cancelled, timeout, false, false, "context canceled"},
		{"other", t.Context(), errors.New("no such host"), false, false, "no such host"},
	} {
		err := tcpError(c.ctx, cfg, "192.0.2.1:22", c.err)
		if errors.Is(err, ErrConnectionRefused) != c.refused || errors.Is(err, ErrNoTCPConnection) != c.noTCP {
			t.Errorf("%s: %v: refused %v, no TCP %v; want %v, %v", c.name, err,
				errors.Is(err, ErrConnectionRefused), errors.Is(err, ErrNoTCPConnection), c.refused, c.noTCP)
		}
		if !errors.Is(err, c.err) && c.ctx.Err() == nil {
			t.Errorf("%s: %v does not wrap the net error", c.name, err)
		}
		wantContains(t, err, `host "box" (192.0.2.1:22): tcp connect`, c.wantInMessage)
	}
}

// OpenSSH lowercases host names in known_hosts. A plan address that differs
// only in case meets the recorded key, and with -accept-new-host-keys a
// different key is still refused as changed, never recorded as new.
func TestHostNameCaseInKnownHosts(t *testing.T) {
	f := newFixture(t)
	var lines string
	for _, k := range f.srv.hostKeys {
		lines += knownHostsLine(fmt.Sprintf("localhost:%d", f.srv.port), k.PublicKey()) + "\n"
	}
	if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.Address = "LocalHost"
	f.dial(t).Close()

	old := newEd25519Signer(t) // the key recorded before the host changed
	if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(knownHostsLine(fmt.Sprintf("localhost:%d", f.srv.port), old.PublicKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.cfg.AcceptNewHostKeys = true
	_, err := Dial(t.Context(), f.cfg)
	var changed *HostKeyChangedError
	if !errors.As(err, &changed) {
		t.Errorf("a changed key under another case: %v", err)
	}
	if b, _ := os.ReadFile(f.cfg.KnownHostsFile); strings.Count(string(b), "\n") != 1 {
		t.Errorf("known_hosts changed:\n%s", b)
	}
}
