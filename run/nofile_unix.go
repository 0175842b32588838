//go:build unix

package run

import "syscall"

// openFileLimit is the soft RLIMIT_NOFILE in force, 0 if unknown.
func openFileLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return uint64(l.Cur)
}
