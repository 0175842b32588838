package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// A task that fails during a port move takes the whole move back: the
// firewall and sshd are as before the run (no temporary rule that keeps
// port 22 open for this machine alone), port 22 answers from another
// address, and apply fails naming the task.
func TestFailedMoveRollsBack(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	neighbour := testhost.Start(t, testhost.Options{})
	before := h.Exec(t, hostState)
	dir := moveBehindFirewall(t, h)
	f, err := os.OpenFile(filepath.Join(dir, "plan.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// After the firewall and the sshd drop-in: both are changed when it fails.
	if _, err := f.WriteString("\ntask \"command\" \"fails\" {\n  command = \"echo failing on purpose >&2; exit 3\"\n}\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r := hako(t, "apply", dir)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	out := r.stdout + r.stderr
	for _, want := range []string{"error: host pi: task command.fails failed during the move", "rolled back", "reachable on port 22"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, r)
		}
	}
	if after := h.Exec(t, hostState); after != before {
		t.Errorf("the host differs after the failed move:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if strings.Contains(h.Exec(t, "ufw status"), "hako: SSH port in use") {
		t.Errorf("the temporary rule is left")
	}
	if !reachableFrom(t, neighbour, h.Addr, 22) {
		t.Errorf("port 22 does not answer another address after the failed move")
	}
	// The next run starts from the card's state again and converges once
	// the failing task is gone.
	plan := filepath.Join(dir, "plan.hcl")
	b, _ := os.ReadFile(plan)
	writeFile(t, plan, strings.Split(string(b), "\ntask \"command\" \"fails\"")[0])
	if r := hako(t, "apply", dir); r.code != 0 {
		t.Fatalf("apply without the failing task:\n%s", r)
	}
	if r := hako(t, "apply", dir); r.code != 0 || !strings.Contains(r.stdout, "changed=0") {
		t.Errorf("second apply is not a no-op:\n%s", r)
	}
}
