package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// A guarded port move that runs longer than its rollback timer: the host's
// timer fires while a command of the run still sleeps there. The rollback
// ends that command (and all else of the run's connection) before it
// restores, and hako, out of the timer's time, starts nothing more (the
// sshd task after the command is not applied), rolls back through the
// session it holds and says why. The host is as before (firewall, sshd),
// port 22 answers another address, and no process of the run is left.
func TestGuardedRunLongerThanItsTimerStops(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	neighbour := testhost.Start(t, testhost.Options{})
	before := h.Exec(t, hostState)
	dir := guardedMovePlan(t, h, sshRuleOnly, `
task "command" "slow" {
  command = "sleep 1234"
}

`)

	const sleeping = `ps -eo args= | grep -qx 'sleep 1234'`
	w := startWatched(t, h, sleeping, "apply", "-confirm", "45s", "-connect-timeout", "30s", dir)
	if !<-w.seen {
		t.Fatalf("the command of the run never ran on the host:\n%s", w.out)
	}
	err, hung := w.wait(4 * time.Minute)
	out := w.out.String()
	log := h.Exec(t, "cat /var/lib/hako/guard/*/log 2>/dev/null || true")
	t.Logf("hako: %v\n%s\nguard log:\n%s", err, out, log)
	if hung {
		t.Fatalf("hako did not end within 4 minutes (the run's command still sleeps on the host?)")
	}
	for _, want := range []string{
		"the run took longer than the rollback timer allows (-confirm 45s",
		"give -confirm a longer time",
		"rolled back: the host is reachable on port 22 as before",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("hako's output lacks %q", want)
		}
	}
	if strings.Contains(out, "changed  file.sshd_port") {
		t.Errorf("sshd's port was changed after the timer's time was up")
	}
	if !strings.Contains(log, "processes the run still had under way") {
		t.Errorf("the timer's rollback did not end the run's processes")
	}
	// Looked at twice: a command still at work would change it later.
	after := h.Exec(t, hostState)
	if after == before {
		time.Sleep(5 * time.Second)
		after = h.Exec(t, hostState)
	}
	if after != before {
		t.Errorf("the host differs after the run:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if !reachableFrom(t, neighbour, h.Addr, 22) {
		t.Errorf("port 22 does not answer another address after the run")
	}
	if h.Exec(t, sleeping+" && echo still || true") != "" {
		t.Errorf("the run's command still sleeps on the host")
	}
}
