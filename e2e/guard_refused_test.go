package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// The guard's timer rolls back while hako still goes on (here a task of
// the plan starts the timer's rollback early, standing in for a run that
// misjudged the time left, and waits, out of the rollback's reach, until it
// has begun, and a moment more): every later command of the run's connection refuses, so the
// next task does nothing and fails with the reason, the sshd task after it
// is not applied, and hako's own rollback over that connection still runs.
func TestGuardedRunRefusedAfterTheTimerRolledBack(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	before := h.Exec(t, hostState)
	dir := guardedMovePlan(t, h, sshRuleOnly, `
task "command" "timer" {
  command = <<-EOT
    exec setsid env -u HAKO_CONN -u HAKO_RUN sh -c 'trap "" TERM
    setsid -f sh /var/lib/hako/guard/*/rollback timer </dev/null >/dev/null 2>&1
    until grep -qs "rolling back (timer)" /var/lib/hako/guard/*/log; do sleep 0.05; done
    sleep 0.5'
  EOT
}

task "command" "late" {
  command = "touch /root/hako-late"
}

`)

	w := startRun(t, "apply", "-confirm", "3m", "-connect-timeout", "30s", dir)
	go func() { w.exited <- w.cmd.Wait() }()
	err, hung := w.wait(4 * time.Minute)
	out := w.out.String()
	log := h.Exec(t, "cat /var/lib/hako/guard/*/log 2>/dev/null || true")
	t.Logf("hako: %v\n%s\nguard log:\n%s", err, out, log)
	if hung {
		t.Fatalf("hako did not end within 4 minutes")
	}
	for _, want := range []string{
		"the host's guard rolled back this run's changes (its timer ended): nothing more is done on it",
		"command.late",
		"rolled back: the host is reachable on port 22 as before",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("hako's output lacks %q", want)
		}
	}
	if strings.Contains(out, "changed  file.sshd_port") {
		t.Errorf("sshd's port was changed after the timer rolled back")
	}
	if got := h.Exec(t, "ls /root/hako-late 2>/dev/null || true"); got != "" {
		t.Errorf("the task after the timer's rollback ran: %s", got)
	}
	if after := h.Exec(t, hostState); after != before {
		t.Errorf("the host differs after the run:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
