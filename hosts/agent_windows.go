//go:build windows

package hosts

import (
	"net"
	"time"

	"github.com/Microsoft/go-winio"
)

// dialPipe opens a named pipe (the Windows OpenSSH agent's). The standard
// library has no client for named pipes; go-winio is Microsoft's own.
func dialPipe(path string, timeout time.Duration) (net.Conn, error) {
	return winio.DialPipe(path, &timeout)
}
