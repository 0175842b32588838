package hosts

import (
	"errors"
	"runtime"
	"syscall"
)

// Windows reports a failed connect with its own Winsock error numbers,
// which are not the syscall.E* values Go defines for Windows (those are
// invented numbers that no Windows call returns): errors.Is(err,
// syscall.ECONNREFUSED) never matches there, and a connect that timed out
// (WSAETIMEDOUT) is not a net.Error timeout either.
const (
	wsaENETUNREACH  = syscall.Errno(10051)
	wsaECONNRESET   = syscall.Errno(10054)
	wsaETIMEDOUT    = syscall.Errno(10060)
	wsaECONNREFUSED = syscall.Errno(10061)
	wsaEHOSTUNREACH = syscall.Errno(10065)
)

// onWindows selects the Winsock numbers. The mapping itself takes it as
// a parameter, so that its tests run on every system.
const onWindows = runtime.GOOS == "windows"

func isConnRefused(err error) bool { return connRefused(err, onWindows) }

func isConnTimedOut(err error) bool { return connTimedOut(err, onWindows) }

func isUnreachable(err error) bool { return unreachable(err, onWindows) }

func isConnReset(err error) bool { return connReset(err, onWindows) }

// connRefused: nothing listens on the port (the peer answered with a reset).
func connRefused(err error, windows bool) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || windows && errors.Is(err, wsaECONNREFUSED)
}

// connTimedOut: the system gave up on the connect (no answer at all). On
// Unix a dial deadline or ETIMEDOUT is a net.Error timeout already (isTimeout).
func connTimedOut(err error, windows bool) bool {
	return windows && errors.Is(err, wsaETIMEDOUT)
}

// unreachable: no route to the host or its network.
func unreachable(err error, windows bool) bool {
	return errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		windows && (errors.Is(err, wsaEHOSTUNREACH) || errors.Is(err, wsaENETUNREACH))
}

// connReset: the peer dropped an established connection.
func connReset(err error, windows bool) bool {
	return errors.Is(err, syscall.ECONNRESET) || windows && errors.Is(err, wsaECONNRESET)
}
