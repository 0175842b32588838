//go:build !unix

package hosts

import (
	"errors"
	"io"
	"net"
)

// proxyCommandConn: ProxyCommand needs a socket pair for the command's
// standard input and output; on this system hako does not run one yet.
func proxyCommandConn(string) (net.Conn, io.Closer, error) {
	return nil, nil, errors.New("ProxyCommand is not supported on this system (use ProxyJump)")
}
