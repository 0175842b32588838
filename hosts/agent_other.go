//go:build !windows

package hosts

import (
	"errors"
	"net"
	"time"
)

// dialPipe is never called off Windows (agentAddress reports no pipe there).
func dialPipe(string, time.Duration) (net.Conn, error) {
	return nil, errors.New("named pipes exist only on Windows")
}
