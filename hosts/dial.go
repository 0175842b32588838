package hosts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// SSHHost is a Host reached over one SSH connection. Commands are sessions
// multiplexed on it; file writes share one lazily started SFTP client.
type SSHHost struct {
	name   string
	become bool
	// root: the login user is root (Config.User "root"). Without become
	// such a run can arm a rollback guard, so its SFTP server is started
	// as a command that carries HAKO_CONN and the guard's check, as one
	// started through sudo is (see sftpClient), not as sshd's subsystem.
	root   bool
	sudo   *sudoer      // with become: how sudo is run, once settled (see becomeState)
	bst    *becomeState // with become: settles sudo on first use; nil without become
	client *ssh.Client
	sem    chan struct{} // bounds concurrent exec sessions (sshd MaxSessions)
	end    Endpoint
	key    ssh.PublicKey
	// Replaced is set when Dial replaced a changed host key (Reprovision).
	Replaced *HostKeyReplacement
	// Recorded is set when Dial added a known_hosts entry (first contact
	// on this port, or the new key of a reprovisioned host).
	Recorded *HostKeyRecord

	sftpMu      sync.Mutex // guards the three fields below
	sftp        *sftp.Client
	sftpSession *ssh.Session
	sftpFsync   bool

	users userFiles // SFTP as other users, user ids
	via   io.Closer // the jump host connection or proxy command carrying this one

	cmdTimeout time.Duration // 0: none
	alive      *keepalive

	// conn names this connection on the host: every command and SFTP
	// server it starts carries HAKO_CONN=conn in its environment. The
	// rollback guard records it when it is armed, and its timer ends those
	// processes before it restores (see the guard package): what the run
	// still has under way must not change the host after that.
	conn string

	closeOnce sync.Once
	closeErr  error
}

var _ Host = (*SSHHost)(nil)

// Handshake stages, for saying what failed.
const (
	stageKex  int32 = iota // protocol banner, key exchange, host key
	stageAuth              // host key accepted, authenticating
)

// Dial connects and authenticates. ConnectTimeout bounds the whole of it
// (DNS, TCP connect, SSH handshake, authentication); ctx can cancel it.
func Dial(ctx context.Context, cfg Config) (*SSHHost, error) {
	if cfg.Address == "" {
		return nil, fmt.Errorf("host %q: no address to connect to", cfg.Name)
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPort
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.KnownHostsFile == "" {
		cfg.KnownHostsFile = "~/.ssh/known_hosts"
	}
	cfg.KnownHostsFile = ExpandHome(cfg.KnownHostsFile)
	more := make([]string, len(cfg.KnownHostsFiles))
	for i, f := range cfg.KnownHostsFiles {
		more[i] = ExpandHome(f)
	}
	hostport := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	if cfg.Name == "" {
		cfg.Name = cfg.Address
	}
	if cfg.User == "" {
		u, err := localUser()
		if err != nil {
			return nil, fmt.Errorf("host %q (%s): no user given and the local user is unknown: %w", cfg.Name, hostport, err)
		}
		cfg.User = u
	}
	deadline := time.Now().Add(cfg.ConnectTimeout)

	hk, err := newHostKeyChecker(cfg.Name, strings.ToLower(hostport), cfg.KnownHostsFile, cfg.AcceptNewHostKeys, more, cfg.GlobalKnownHostsFiles)
	if err != nil {
		return nil, err
	}
	hk.expect, hk.reprovision, hk.acceptFP, hk.hash = cfg.ExpectHostKey, cfg.Reprovision, cfg.AcceptHostKey, cfg.HashKnownHosts
	hk.ports = append([]int{cfg.Port}, cfg.HostPorts...)
	auth := loadKeyAuth(cfg, deadline)
	defer auth.close()

	var stage atomic.Int32
	clientCfg := &ssh.ClientConfig{
		User: cfg.User,
		Auth: auth.methods(cfg.Password),
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			if err := hk.check(hostname, remote, key); err != nil {
				return err
			}
			stage.Store(stageAuth)
			return nil
		},
		HostKeyAlgorithms: hk.algorithms(),
	}

	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, via, err := dialTransport(dctx, ctx, cfg, hostport)
	if err != nil {
		return nil, err
	}

	// ClientConfig.Timeout only covers the TCP connect: a peer that accepts
	// and then stays silent would hang the handshake forever. A deadline on
	// the conn covers banner, key exchange and auth; ctx pulls it forward.
	_ = conn.SetDeadline(deadline)
	auth.attach(ctx, conn)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	c, chans, reqs, err := ssh.NewClientConn(conn, hostport, clientCfg)
	if !stop() && err == nil {
		c.Close()
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		closeVia(via)
		return nil, handshakeError(ctx, cfg, hostport, stage.Load(), auth, err)
	}
	_ = conn.SetDeadline(time.Time{}) // or every later session would die at it

	h := &SSHHost{
		name:     cfg.Name,
		become:   cfg.Become,
		root:     cfg.User == "root",
		client:   ssh.NewClient(c, chans, reqs),
		sem:      make(chan struct{}, maxSessions),
		end:      endpoint(conn, cfg.Port),
		key:      hk.seen,
		Replaced: hk.replaced,
		Recorded: hk.recorded,
		via:      via,
		conn:     newRunID(),
	}
	if via != nil || cfg.ProxyCommand != "" {
		h.end.ClientAddr = "" // our side of a channel or pipe says nothing about the host's view
	}
	h.watch(cfg)
	if cfg.Become {
		// Whether sudo asks for a password is found out by the first
		// command (see becomeState): a session of its own for it would
		// cost every run a round trip and a sudo more.
		if err := checkBecomePassword(cfg); err != nil {
			h.Close()
			return nil, err
		}
		h.bst = newBecomeState(cfg)
	}
	return h, nil
}

// HostKey is the key the host proved it holds during the handshake.
func (h *SSHHost) HostKey() ssh.PublicKey { return h.key }

// KnownHostsNote says what Dial did to known_hosts, "" for nothing.
func (h *SSHHost) KnownHostsNote() string {
	switch {
	case h.Replaced != nil:
		return h.Replaced.String()
	case h.Recorded != nil:
		return h.Recorded.String()
	}
	return ""
}

// endpoint records the connection's ends. Without NAT between us and the
// host (a home LAN, IPv6) our local address is the source the host sees.
func endpoint(conn net.Conn, port int) Endpoint {
	e := Endpoint{ServerPort: port}
	if a, ok := conn.LocalAddr().(*net.TCPAddr); ok {
		e.ClientAddr = a.IP.String()
	}
	return e
}

// Endpoint returns the connection's ends.
func (h *SSHHost) Endpoint() Endpoint { return h.end }

func tcpError(ctx context.Context, cfg Config, hostport string, err error) error {
	prefix := fmt.Sprintf("host %q (%s): tcp connect", cfg.Name, hostport)
	switch {
	case isConnRefused(err):
		return &tcpConnectError{msg: prefix + ": connection refused (nothing listens on that port)", kind: ErrConnectionRefused, err: err}
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", prefix, ctx.Err())
	case isTimeout(err) || isConnTimedOut(err):
		return &tcpConnectError{msg: fmt.Sprintf("%s: timed out after %s (host down or packets dropped?): %v", prefix, cfg.ConnectTimeout, err), kind: ErrNoTCPConnection, err: err}
	case isUnreachable(err):
		// The system's words ("no route to host") name the symptom; among
		// many hosts' errors the reader looks for which host is down.
		return &tcpConnectError{msg: fmt.Sprintf("%s: unreachable (host down, or no route to it from here?): %v", prefix, err), kind: ErrNoTCPConnection, err: err}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func handshakeError(ctx context.Context, cfg Config, hostport string, stage int32, auth *keyAuth, err error) error {
	// Host key problems carry everything already; return them as they are.
	var unknown *UnknownHostKeyError
	if errors.As(err, &unknown) {
		return unknown
	}
	var changed *HostKeyChangedError
	if errors.As(err, &changed) {
		return changed
	}
	var notGiven *HostKeyNotAcceptedError
	if errors.As(err, &notGiven) {
		return notGiven
	}
	var refused *HostKeyRefusedError
	if errors.As(err, &refused) {
		return refused
	}
	what := "ssh handshake"
	if stage == stageAuth {
		what = fmt.Sprintf("authentication as user %q", cfg.User)
	}
	prefix := fmt.Sprintf("host %q (%s): %s", cfg.Name, hostport, what)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", prefix, ctx.Err())
	case isTimeout(err):
		if stage == stageKex {
			return fmt.Errorf("%s timed out after %s (the TCP connection was accepted but no SSH handshake completed; is this an SSH server?): %w",
				prefix, cfg.ConnectTimeout, err)
		}
		return fmt.Errorf("%s timed out after %s: %w", prefix, cfg.ConnectTimeout, err)
	case stage == stageAuth || isAuthFailure(err):
		return fmt.Errorf("host %q (%s): authentication failed for user %q; tried %s: %w",
			cfg.Name, hostport, cfg.User, auth.describe(), err)
	case errors.Is(err, io.EOF) || isConnReset(err):
		return fmt.Errorf("%s: the server closed the connection (not an SSH server, or sshd refused us, e.g. MaxStartups or tcp wrappers): %w", prefix, err)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func isAuthFailure(err error) bool {
	s := err.Error()
	return strings.Contains(s, "unable to authenticate") || strings.Contains(s, "Too many authentication failures")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// Name is the plan's name for the host.
func (h *SSHHost) Name() string { return h.name }

// Close closes the SFTP client (then waits for its session, which ends the
// sudo'd sftp-server), then the SSH connection.
func (h *SSHHost) Close() error {
	h.closeOnce.Do(func() {
		h.alive.close()
		h.sftpMu.Lock()
		if h.sftp != nil {
			closeSFTP(h.sftp, h.sftpSession)
			h.sftp, h.sftpSession = nil, nil
		}
		h.sftpMu.Unlock()
		h.users.close()
		if err := h.client.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			h.closeErr = fmt.Errorf("host %q: close: %w", h.name, err)
		}
		closeVia(h.via)
	})
	return h.closeErr
}
