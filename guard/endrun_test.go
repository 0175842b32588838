//go:build unix

package guard

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// endrun (the timer's rollback ends with it the processes the run still
// has under way, see rollback.sh) ends every process that carries the
// entry, one that ignores TERM and what it keeps starting included, and
// leaves the others alone. It runs here on this machine's /proc: it only
// signals processes whose environment holds an entry made up for the test.
func TestEndrunEndsTheRunsProcesses(t *testing.T) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id, other := hex.EncodeToString(b[:]), strings.Repeat("0", 32)
	start := func(entry string, script string) *exec.Cmd {
		c := exec.Command("sh", "-c", script)
		c.Env = append(os.Environ(), entry)
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // as a run's leftovers
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		t.Cleanup(func() {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		})
		return c
	}
	// Each checked for being gone by its process group, which holds its
	// children too.
	plain := start("HAKO_CONN="+id, "sleep 300")
	stubborn := start("HAKO_CONN="+id, `trap "" TERM; while :; do sleep 0.05; done`)
	bystander := start("HAKO_CONN="+other, "sleep 300")
	time.Sleep(200 * time.Millisecond) // the shells have started their children

	out, err := exec.Command("sh", "-c", endrunSh+`endrun "$1"`, "sh", "HAKO_CONN="+id).CombinedOutput()
	if err != nil {
		t.Fatalf("endrun: %v: %s", err, out)
	}
	if n := strings.TrimSpace(string(out)); n == "0" || n == "" {
		t.Errorf("endrun found %q processes", n)
	}
	alive := func(c *exec.Cmd) bool {
		// A zombie (ended, not yet reaped) counts as gone.
		st, err := os.ReadFile("/proc/" + strconv.Itoa(c.Process.Pid) + "/stat")
		return err == nil && !strings.Contains(string(st), ") Z ")
	}
	for name, c := range map[string]*exec.Cmd{"plain": plain, "stubborn": stubborn} {
		if alive(c) {
			t.Errorf("the %s process of the run is still running", name)
		}
	}
	if !alive(bystander) {
		t.Errorf("a process of another connection was ended")
	}
	if out, _ := exec.Command("sh", "-c", endrunSh+`endrun_left "$1"`, "sh", "HAKO_CONN="+id).Output(); len(out) != 0 {
		t.Errorf("left with the run's entry: %s", out)
	}
}
