//go:build unix

package run

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// DefaultParallel relies on Go raising the soft open-file limit to the
// hard one (less one) when a program starts (so that a shell's usual 1024 does not
// bound hako): a copy of this test binary, started with a soft limit of
// 256, finds the hard limit in force.
func TestOpenFileLimitRaisedAtStart(t *testing.T) {
	if os.Getenv("HAKO_PRINT_NOFILE") == "1" {
		os.Stdout.WriteString(strconv.FormatUint(openFileLimit(), 10))
		os.Exit(0)
	}
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if l.Max <= 256 {
		t.Skipf("hard open-file limit %d: nothing to raise to", l.Max)
	}
	low := l
	low.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenFileLimitRaisedAtStart$")
	cmd.Env = append(os.Environ(), "HAKO_PRINT_NOFILE=1")
	out, err := cmd.Output()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Go leaves it one below the hard limit (to tell its own raise from
	// someone else's prlimit).
	got, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || got < uint64(l.Max)-1 {
		t.Errorf("a program started with a soft limit of 256 has %q, want the hard limit %d (or one less)", out, l.Max)
	}
}
