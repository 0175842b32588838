package hosts

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// testServer is an in-process SSH server on 127.0.0.1:0: public-key auth
// for one user and key, `exec` run through the local `sh -c` with an
// exit-status reply, and the `sftp` subsystem served by pkg/sftp. Like sshd
// it refuses sessions beyond maxSessions per connection.
type testServer struct {
	addr        string
	port        int
	user        string
	userKey     ssh.PublicKey
	hostKeys    []ssh.Signer
	env         []string // added to the environment of exec'd commands
	maxSessions int32

	// running counts commands and sftp servers at work, over all
	// connections. It drops before the exit status is sent, so it never
	// lags behind the client's own count; peak is its maximum.
	running, peak atomic.Int32
	// execs counts the exec requests (commands started), over all
	// connections.
	execs atomic.Int32
	// started lists what each session asked to run, in order, over all
	// connections: "exec: COMMAND" or "subsystem: NAME".
	startedMu sync.Mutex
	started   []string

	password string // "" : public keys only
	forward  bool   // accept direct-tcpip channels to loopback (a jump host)
	deaf     bool   // never answer global requests (keepalives)

	// frozen makes every connection go silent, as a host that lost power:
	// nothing more is read or written, nothing is closed.
	frozen atomic.Bool

	userCA       ssh.PublicKey // also accept user certificates this CA signed
	maxAuthTries int           // 0: x/crypto's default (6)
	offeredMu    sync.Mutex
	offered      []string // the keys clients offered, in order (one entry per key)

	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

type serverOption func(*testServer)

func withHostKeys(keys ...ssh.Signer) serverOption {
	return func(s *testServer) { s.hostKeys = keys }
}

// withPassword lets the test user in with a password too.
func withPassword(pw string) serverOption {
	return func(s *testServer) { s.password = pw }
}

// withUserCA accepts certificates for the test user signed by ca, as
// sshd's TrustedUserCAKeys.
func withUserCA(ca ssh.PublicKey) serverOption {
	return func(s *testServer) { s.userCA = ca }
}

// withUser lets user in instead of "tester" (the fixture's cfg.User must
// follow).
func withUser(user string) serverOption {
	return func(s *testServer) { s.user = user }
}

func withMaxAuthTries(n int) serverOption {
	return func(s *testServer) { s.maxAuthTries = n }
}

func (s *testServer) record(what string) {
	s.startedMu.Lock()
	defer s.startedMu.Unlock()
	s.started = append(s.started, what)
}

// startedSessions is what the sessions asked to run so far (see started).
func (s *testServer) startedSessions() []string {
	s.startedMu.Lock()
	defer s.startedMu.Unlock()
	return append([]string(nil), s.started...)
}

// offeredKeys are the fingerprints of the keys offered so far, in order.
func (s *testServer) offeredKeys() []string {
	s.offeredMu.Lock()
	defer s.offeredMu.Unlock()
	return append([]string(nil), s.offered...)
}

func withEnv(env ...string) serverOption {
	return func(s *testServer) { s.env = env }
}

func startServer(t *testing.T, userKey ssh.PublicKey, opts ...serverOption) *testServer {
	t.Helper()
	s := &testServer{user: "tester", userKey: userKey, maxSessions: 10}
	for _, o := range opts {
		o(s)
	}
	if len(s.hostKeys) == 0 {
		s.hostKeys = []ssh.Signer{newEd25519Signer(t)}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.addr = ln.Addr().String()
	s.port = ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			nc := &freezableConn{Conn: raw, frozen: &s.frozen, closed: make(chan struct{})}
			s.mu.Lock()
			s.conns = append(s.conns, nc)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serveConn(nc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) serveConn(nc net.Conn) {
	defer nc.Close()
	certs := &ssh.CertChecker{
		IsUserAuthority: func(auth ssh.PublicKey) bool {
			return s.userCA != nil && bytes.Equal(auth.Marshal(), s.userCA.Marshal())
		},
	}
	cfg := &ssh.ServerConfig{
		MaxAuthTries: s.maxAuthTries,
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			fp := describeKey(key)
			s.offeredMu.Lock()
			if n := len(s.offered); n == 0 || s.offered[n-1] != fp { // the query and the signed request
				s.offered = append(s.offered, fp)
			}
			s.offeredMu.Unlock()
			if _, ok := key.(*ssh.Certificate); ok {
				if meta.User() == s.user {
					return certs.Authenticate(meta, key)
				}
				return nil, errors.New("not authorized")
			}
			if meta.User() == s.user && bytes.Equal(key.Marshal(), s.userKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("not authorized")
		},
	}
	if s.password != "" {
		cfg.PasswordCallback = func(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if meta.User() == s.user && string(pw) == s.password {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k)
	}
	conn, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	if s.deaf {
		go func() {
			for range reqs { // never answered: a link that died under us
			}
		}()
	} else {
		go ssh.DiscardRequests(reqs)
	}
	var sessions sync.WaitGroup
	defer sessions.Wait()
	var open atomic.Int32
	for nch := range chans {
		if nch.ChannelType() == "direct-tcpip" && s.forward {
			sessions.Add(1)
			go func() { defer sessions.Done(); s.forwardTCP(nch) }()
			continue
		}
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		if !s.takeSlot(&open) {
			nch.Reject(ssh.ConnectionFailed, "open failed") // what sshd says
			continue
		}
		ch, chreqs, err := nch.Accept()
		if err != nil {
			open.Add(-1)
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			defer open.Add(-1)
			s.session(ch, chreqs)
			// sshd frees the session when the client's CLOSE arrives,
			// which it handles before the client's next CHANNEL_OPEN.
			for range chreqs {
			}
		}()
	}
}

// takeSlot enforces maxSessions per connection. sshd does its accounting
// in packet order; this server frees a slot in another goroutine a moment
// after the client's CLOSE, so it grants that moment before refusing.
func (s *testServer) takeSlot(open *atomic.Int32) bool {
	for deadline := time.Now().Add(time.Second); ; time.Sleep(time.Millisecond) {
		if n := open.Load(); n < s.maxSessions && open.CompareAndSwap(n, n+1) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func (s *testServer) working() func() {
	n := s.running.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	return func() { s.running.Add(-1) }
}

func (s *testServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	exit := func(code int) {
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
	}
	for req := range reqs {
		switch req.Type {
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			s.execs.Add(1)
			s.record("exec: " + p.Command)
			done := s.working()
			code := s.exec(ch, p.Command, reqs)
			done()
			exit(code)
			return
		case "subsystem":
			var p struct{ Name string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil || p.Name != "sftp" {
				req.Reply(false, nil)
				continue
			}
			s.record("subsystem: " + p.Name)
			req.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err != nil {
				exit(1)
				return
			}
			done := s.working()
			_ = srv.Serve() // until the client closes its side
			srv.Close()
			done()
			exit(0)
			return
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// exec runs command like sshd does for a user whose shell is sh. A
// "signal" request or the channel going away kills the process group.
func (s *testServer) exec(ch ssh.Channel, command string, reqs <-chan *ssh.Request) int {
	cmd := exec.Command("sh", "-c", command)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	ownGroup(cmd)
	// Like sshd, do not wait for the client's stdin to end once the
	// process has exited (cmd.Stdin = ch would: Wait joins that copy).
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 127
	}
	if err := cmd.Start(); err != nil {
		io.WriteString(ch.Stderr(), err.Error())
		return 127
	}
	go func() {
		_, _ = io.Copy(stdin, ch)
		stdin.Close()
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	kill := func() { killGroup(cmd) }
	for {
		select {
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return exitCode(ee)
			}
			return 0
		case req, ok := <-reqs:
			if !ok {
				kill()
				reqs = nil // a nil channel blocks: wait for done
				continue
			}
			if req.Type == "signal" {
				kill()
			}
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// freezableConn stops passing data either way once frozen is set, until
// it is closed.
type freezableConn struct {
	net.Conn
	frozen    *atomic.Bool
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *freezableConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.frozen.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *freezableConn) Write(p []byte) (int, error) {
	if c.frozen.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

func (c *freezableConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// silentListener accepts TCP connections and never says a word.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

func newEd25519(t *testing.T) (ssh.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

func newEd25519Signer(t *testing.T) ssh.Signer {
	s, _ := newEd25519(t)
	return s
}

func newECDSASigner(t *testing.T) ssh.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeKeyFile stores priv in OpenSSH format (encrypted when passphrase != "").
func writeKeyFile(t *testing.T, path string, priv crypto.PrivateKey, passphrase string) string {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixture: a server, a client key on disk and a known_hosts file that
// already trusts the server.
type fixture struct {
	srv      *testServer
	cfg      Config
	dir      string
	userPriv ed25519.PrivateKey
}

func newFixture(t *testing.T, opts ...serverOption) *fixture {
	t.Helper()
	dir := t.TempDir()
	userSigner, userPriv := newEd25519(t)
	srv := startServer(t, userSigner.PublicKey(), opts...)
	kh := filepath.Join(dir, "known_hosts")
	var lines []byte
	for _, k := range srv.hostKeys {
		lines = append(lines, knownHostsLine(srv.addr, k.PublicKey())+"\n"...)
	}
	if err := os.WriteFile(kh, lines, 0o600); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		srv: srv,
		dir: dir,
		cfg: Config{
			Name:           "box",
			Address:        "127.0.0.1",
			Port:           srv.port,
			User:           "tester",
			IdentityFiles:  []string{writeKeyFile(t, filepath.Join(dir, "id_ed25519"), userPriv, "")},
			KnownHostsFile: kh,
			ConnectTimeout: 5 * time.Second,
		},
		userPriv: userPriv,
	}
}

func (f *fixture) dial(t *testing.T) *SSHHost {
	t.Helper()
	h, err := Dial(t.Context(), f.cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestMain(m *testing.M) {
	// Hermetic: the developer's agent must not take part in auth tests.
	os.Unsetenv("SSH_AUTH_SOCK")
	os.Exit(m.Run())
}

func itoa(i int) string { return strconv.Itoa(i) }
