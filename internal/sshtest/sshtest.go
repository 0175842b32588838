// Package sshtest runs in-process SSH servers on loopback for tests and
// benchmarks that need many hosts at once (hundreds of hosts cost hundreds
// of listeners, not hundreds of Debian hosts): public-key auth for one
// client key, `exec` run through the local `sh -c` with its exit status,
// the `sftp` subsystem served by pkg/sftp, and replies to keepalives. Each
// server has its own ed25519 host key, which KnownHostsLine names, so that
// clients check host keys strictly.
package sshtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Server is one running server on 127.0.0.1.
type Server struct {
	Addr    string // 127.0.0.1:port
	Port    int
	HostKey ssh.PublicKey

	cfg *ssh.ServerConfig
	env []string // added to the environment of the commands run
	// Execs counts the commands started (exec requests), over all
	// connections.
	Execs atomic.Int32
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// ClientKey is an ed25519 key pair whose private half is a file (OpenSSH
// format, no passphrase) as an identity_file names it.
type ClientKey struct {
	File   string
	Public ssh.PublicKey
}

// NewClientKey writes a new client key into dir.
func NewClientKey(t testing.TB, dir string) ClientKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "sshtest")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return ClientKey{File: file, Public: signer.PublicKey()}
}

// Option changes a server.
type Option func(*Server)

// WithEnv adds env ("NAME=value") to the environment of the commands the
// server runs.
func WithEnv(env ...string) Option {
	return func(s *Server) { s.env = append(s.env, env...) }
}

// Start runs a server that lets in any user name holding client's key; it
// stops when t ends.
func Start(t testing.TB, client ssh.PublicKey, opts ...Option) *Server {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	want := client.Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), want) {
				return nil, nil
			}
			return nil, errors.New("not authorized")
		},
	}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), Port: ln.Addr().(*net.TCPAddr).Port, HostKey: hostKey.PublicKey(),
		cfg: cfg, ln: ln, conns: map[net.Conn]bool{}}
	for _, o := range opts {
		o(s)
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

// KnownHostsLine is the known_hosts line that trusts this server.
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey)
}

// WriteKnownHosts writes a known_hosts file that trusts exactly servers.
func WriteKnownHosts(t testing.TB, file string, servers []*Server) {
	t.Helper()
	var b bytes.Buffer
	for _, s := range servers {
		fmt.Fprintln(&b, s.KnownHostsLine())
	}
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[nc] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(nc)
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
		}()
	}
}

func (s *Server) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serve(nc net.Conn) {
	defer nc.Close()
	conn, chans, reqs, err := ssh.NewServerConn(nc, s.cfg)
	if err != nil {
		return
	}
	defer conn.Close()
	// Global requests (keepalive@openssh.com) get a reply, as from sshd:
	// the reply, not its answer, tells the client the peer is there.
	go ssh.DiscardRequests(reqs)
	var sessions sync.WaitGroup
	defer sessions.Wait()
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chreqs, err := nch.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			s.session(ch, chreqs)
		}()
	}
}

func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
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
			s.Execs.Add(1)
			go drain(reqs)
			exit(s.run(ch, p.Command))
			return
		case "subsystem":
			var p struct{ Name string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil || p.Name != "sftp" {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			go drain(reqs)
			srv, err := sftp.NewServer(ch)
			if err != nil {
				exit(1)
				return
			}
			_ = srv.Serve() // until the client closes its side
			srv.Close()
			exit(0)
			return
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

// drain answers the requests that come after exec or subsystem (signals,
// window changes) with "no", so that the channel never blocks on them.
func drain(reqs <-chan *ssh.Request) {
	for req := range reqs {
		if req.WantReply {
			req.Reply(false, nil)
		}
	}
}

// run runs command through sh -c as sshd does, with the channel as its
// standard streams. Like sshd, it does not wait for the client's standard
// input to end once the command has exited.
func (s *Server) run(ch ssh.Channel, command string) int {
	cmd := exec.Command("sh", "-c", command)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
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
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return 127
	}
	return 0
}

// Fleet is n servers that trust one client key, and a known_hosts file
// that trusts exactly their host keys.
type Fleet struct {
	Servers    []*Server
	Key        ClientKey
	KnownHosts string
}

// StartFleet starts n servers with opts; their key files are kept in dir.
func StartFleet(t testing.TB, dir string, n int, opts ...Option) *Fleet {
	t.Helper()
	f := &Fleet{Key: NewClientKey(t, dir), KnownHosts: filepath.Join(dir, "known_hosts")}
	for range n {
		f.Servers = append(f.Servers, Start(t, f.Key.Public, opts...))
	}
	WriteKnownHosts(t, f.KnownHosts, f.Servers)
	return f
}

// HostBlocks are the plan's host blocks for the fleet, named h0, h1, …,
// logging in as user.
func (f *Fleet) HostBlocks(user string) string {
	var b bytes.Buffer
	for i, s := range f.Servers {
		fmt.Fprintf(&b, `host "h%d" {
  address       = "127.0.0.1"
  port          = %d
  user          = %q
  identity_file = %q
  known_hosts   = %q
}
`, i, s.Port, user, f.Key.File, f.KnownHosts)
	}
	return b.String()
}

// PathWithout is a PATH value that finds the commands this process's PATH
// finds, except names: a folder of links to them, removed with t. Servers
// given it (WithEnv("PATH="+…)) stand for hosts that lack those commands,
// such as a host without systemd (no systemctl), like the lite test hosts.
func PathWithout(t testing.TB, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	skip := map[string]bool{}
	for _, n := range names {
		skip[n] = true
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if skip[e.Name()] {
				continue
			}
			// The first folder in PATH that has a name wins, as for
			// the shell: a later one's link fails and is left.
			_ = os.Symlink(filepath.Join(d, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	return dir
}
