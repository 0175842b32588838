package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// -command-timeout on a real host: a command that never ends fails its
// task once the limit is reached, and no process of it is left running on
// the host (it runs as root through sudo). Interrupting hako (Ctrl-C)
// ends the command on the host as well.
func TestCommandTimeout(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "command" "stuck" {
  command = "sleep 301; echo never"
}
`)
	r := hako(t, "apply", "-command-timeout", "5s", dir)
	if r.code != 1 {
		t.Errorf("apply: want exit 1\n%s", r)
	}
	mustContain(t, r, "pi  failed   command.stuck", "the command was still running after 5s, the command timeout; it was killed")
	left := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if left = h.Exec(t, "ps -eo pid=,args= | grep '[s]leep 301' || true"); left == "" {
			break
		}
	}
	if left != "" {
		t.Errorf("still running on the host after the timeout:\n%s", strings.TrimSpace(left))
	}

	dir = planFor(t, h, `
task "command" "stuck" {
  command = "sleep 302; echo never"
}
`)
	cmd := exec.Command(hakoBin, "apply", dir)
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(60 * time.Second); h.Exec(t, "ps -eo args= | grep '[s]leep 302' || true") == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the command did not start on the host:\n%s", out.String())
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if left = h.Exec(t, "ps -eo pid=,args= | grep '[s]leep 302' || true"); left == "" {
			break
		}
	}
	if left != "" {
		t.Errorf("still running on the host after hako was interrupted:\n%s\nhako said:\n%s", strings.TrimSpace(left), out.String())
	}
}
