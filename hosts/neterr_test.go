package hosts

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

// dialErr wraps errno as net.Dial returns it: *net.OpError around
// *os.SyscallError ("connectex" on Windows, "connect" elsewhere).
func dialErr(call string, errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22},
		Err: os.NewSyscallError(call, errno)}
}

// Windows' Winsock numbers are mapped on Windows, and only there (on Linux
// 10061 is no errno at all, but a made-up number must not match by luck);
// the Unix numbers are mapped everywhere.
func TestConnectErrorMapping(t *testing.T) {
	type class struct{ refused, timedOut, unreachable, reset bool }
	for _, c := range []struct {
		err           error
		windows, unix class
	}{
		{dialErr("connectex", wsaECONNREFUSED), class{refused: true}, class{}},
		{dialErr("connectex", wsaETIMEDOUT), class{timedOut: true}, class{}},
		{dialErr("connectex", wsaEHOSTUNREACH), class{unreachable: true}, class{}},
		{dialErr("connectex", wsaENETUNREACH), class{unreachable: true}, class{}},
		{dialErr("wsarecv", wsaECONNRESET), class{reset: true}, class{}},
		{dialErr("connect", syscall.ECONNREFUSED), class{refused: true}, class{refused: true}},
		{dialErr("connect", syscall.EHOSTUNREACH), class{unreachable: true}, class{unreachable: true}},
		{dialErr("read", syscall.ECONNRESET), class{reset: true}, class{reset: true}},
		{fmt.Errorf("ssh: handshake failed: %w", dialErr("read", syscall.ECONNRESET)), class{reset: true}, class{reset: true}},
		{errors.New("connection refused"), class{}, class{}}, // only the number counts, not words
	} {
		for _, os := range []struct {
			windows bool
			want    class
		}{{true, c.windows}, {false, c.unix}} {
			got := class{connRefused(c.err, os.windows), connTimedOut(c.err, os.windows), unreachable(c.err, os.windows), connReset(c.err, os.windows)}
			if got != os.want {
				t.Errorf("%v (windows %v): %+v, want %+v", c.err, os.windows, got, os.want)
			}
		}
	}
}

// On Windows a refused connect (WSAECONNREFUSED) is ErrConnectionRefused,
// so that a host's bootstrap settings are tried, and a connect that timed
// out (WSAETIMEDOUT) is ErrNoTCPConnection: the same classes as on Unix.
func TestTCPErrorClassesWindowsNumbers(t *testing.T) {
	if !onWindows {
		// tcpError uses this system's mapping: check the Unix side of it.
		err := tcpError(t.Context(), Config{Name: "box"}, "192.0.2.1:22", dialErr("connectex", wsaECONNREFUSED))
		if errors.Is(err, ErrNoTCPConnection) {
			t.Errorf("a Winsock number is mapped off Windows: %v", err)
		}
		return
	}
	for errno, want := range map[syscall.Errno]error{wsaECONNREFUSED: ErrConnectionRefused, wsaETIMEDOUT: ErrNoTCPConnection} {
		if err := tcpError(t.Context(), Config{Name: "box"}, "192.0.2.1:22", dialErr("connectex", errno)); !errors.Is(err, want) {
			t.Errorf("%d: %v is not %v", errno, err, want)
		}
	}
}
