package hosts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// dialTransport makes the connection SSH is spoken over: a TCP connection,
// a channel through the last jump host (ProxyJump), or a local command's
// standard input and output (ProxyCommand). via is what carries it and is
// closed after the host's own client (nil for plain TCP).
func dialTransport(ctx, outer context.Context, cfg Config, hostport string) (conn net.Conn, via io.Closer, err error) {
	switch {
	case len(cfg.Jumps) > 0:
		return dialThroughJumps(ctx, cfg, hostport)
	case cfg.ProxyCommand != "":
		conn, via, err := proxyCommandConn(cfg.ProxyCommand)
		if err != nil {
			return nil, nil, fmt.Errorf("host %q (%s): ProxyCommand %q: %w", cfg.Name, hostport, cfg.ProxyCommand, err)
		}
		// The host-key check splits the remote address into host and port.
		return remoteAddrConn{conn, hostPortAddr(hostport)}, via, nil
	}
	var d net.Dialer
	conn, err = d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, nil, tcpError(outer, cfg, hostport, err)
	}
	return conn, nil, nil
}

// dialThroughJumps reaches the last jump host (itself through the ones
// before it, each a full Dial with its own strict host-key check), then
// opens a direct-tcpip channel from it to the host.
func dialThroughJumps(ctx context.Context, cfg Config, hostport string) (net.Conn, io.Closer, error) {
	last := cfg.Jumps[len(cfg.Jumps)-1]
	last.Jumps = cfg.Jumps[:len(cfg.Jumps)-1]
	if last.ConnectTimeout == 0 || last.ConnectTimeout > cfg.ConnectTimeout {
		last.ConnectTimeout = cfg.ConnectTimeout
	}
	jh, err := Dial(ctx, last)
	if err != nil {
		return nil, nil, &JumpError{Host: cfg.Name, Jump: last.Name, Err: err}
	}
	conn, err := jh.client.DialContext(ctx, "tcp", hostport)
	if err != nil {
		jh.Close()
		return nil, nil, forwardError(cfg, hostport, last.Name, err)
	}
	return conn, jh, nil
}

// forwardError says why the jump host could not reach the host. A refused
// or unreachable port counts as "no TCP connection", as it would dialed
// directly, so that a host behind a jump host still falls back to its
// bootstrap settings.
func forwardError(cfg Config, hostport, jump string, err error) error {
	prefix := fmt.Sprintf("host %q (%s): tcp connect from jump host %q", cfg.Name, hostport, jump)
	var oc *ssh.OpenChannelError
	if errors.As(err, &oc) {
		msg := strings.ToLower(oc.Message)
		switch {
		case oc.Reason == ssh.Prohibited:
			return fmt.Errorf("%s: the jump host refuses to forward connections (its sshd has AllowTcpForwarding no?): %w", prefix, err)
		case strings.Contains(msg, "refused"):
			return &tcpConnectError{msg: prefix + ": connection refused (nothing listens on that port)", kind: ErrConnectionRefused, err: err}
		case oc.Reason == ssh.ConnectionFailed:
			return &tcpConnectError{msg: fmt.Sprintf("%s: %v", prefix, err), kind: ErrNoTCPConnection, err: err}
		}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// JumpError is a failure to reach or log in to a jump host. It unwraps to
// the jump host's own error (a host-key error stays a host-key error),
// except that the jump host's "no TCP connection" is not the host's: the
// host's bootstrap settings go through the same jump host and would not
// help.
type JumpError struct {
	Host, Jump string
	Err        error
}

func (e *JumpError) Error() string {
	var changed *HostKeyChangedError
	if errors.As(e.Err, &changed) {
		name := xknownhosts.Normalize(changed.HostPort)
		return fmt.Sprintf("host %q: jump host %q (%s): HOST KEY CHANGED, refusing to connect: it now presents %s %s, not the key in known_hosts:\n    %s\n"+
			"A man-in-the-middle, or a reinstalled jump host? -reprovision is only for the plan's hosts: if that is expected, "+
			"compare the fingerprint on its console, run `ssh-keygen -R %s -f %s`, then re-run with -accept-new-host-keys",
			e.Host, e.Jump, changed.HostPort, changed.KeyType, changed.Fingerprint, strings.Join(changed.Known, "\n    "),
			Quote(name), Quote(changed.KnownHostsFile))
	}
	return fmt.Sprintf("host %q: through jump host %q: %v", e.Host, e.Jump, e.Err)
}

func (e *JumpError) Unwrap() error {
	if errors.Is(e.Err, ErrNoTCPConnection) {
		return nil
	}
	return e.Err
}

// remoteAddrConn names the host it reaches, for a connection whose own
// remote address is a local socket.
type remoteAddrConn struct {
	net.Conn
	remote net.Addr
}

func (c remoteAddrConn) RemoteAddr() net.Addr { return c.remote }

type hostPortAddr string

func (a hostPortAddr) Network() string { return "tcp" }
func (a hostPortAddr) String() string  { return string(a) }
