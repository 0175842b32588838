package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// earlyTimerTask is a command task that starts the guard's timer rollback
// at once, standing in for a timer that ends while the run goes on, and
// waits, out of the rollback's reach (no HAKO_CONN, TERM ignored), until
// the rollback has begun and a moment more. first is shell run before the
// rollback starts, inside sh -c '...' (no single quote).
func earlyTimerTask(first string) string {
	return `
task "command" "timer" {
  command = <<-EOT
    exec setsid env -u HAKO_CONN -u HAKO_RUN sh -c 'trap "" TERM
    ` + first + `
    setsid -f sh /var/lib/hako/guard/*/rollback timer </dev/null >/dev/null 2>&1
    until grep -qs "rolling back (timer)" /var/lib/hako/guard/*/log; do sleep 0.05; done
    sleep 0.5'
  EOT
}
`
}

// applyPastTheTimer runs apply -confirm 3m on dir, whose plan holds an
// earlyTimerTask, and returns hako's output; the guard's log goes to the
// test's log.
func applyPastTheTimer(t *testing.T, h *testhost.Host, dir string) string {
	t.Helper()
	w := startRun(t, "apply", "-confirm", "3m", "-connect-timeout", "30s", dir)
	go func() { w.exited <- w.cmd.Wait() }()
	err, hung := w.wait(4 * time.Minute)
	out := w.out.String()
	log := h.Exec(t, "cat /var/lib/hako/guard/*/log 2>/dev/null || true")
	t.Logf("hako: %v\n%s\nguard log:\n%s", err, out, log)
	if hung {
		t.Fatalf("hako did not end within 4 minutes")
	}
	return out
}

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
	dir := guardedMovePlan(t, h, sshRuleOnly, earlyTimerTask("")+`
task "command" "late" {
  command = "touch /root/hako-late"
}

`)

	out := applyPastTheTimer(t, h, dir)
	for _, want := range []string{
		"the host's guard rolled back this run's changes (its timer ended, or someone rolled back by hand): nothing more is done on it",
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

// Logged in as root without become, the run's SFTP server is ended by the
// timer's rollback as one started through sudo is (a write in flight
// would otherwise finish after the restore), and the next task is
// refused: a guarded sshd change, then the timer's rollback started early
// (as above), then a file task.
func TestRootLoginWriteRefusedAfterTheTimerRolledBack(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	root := rootLogin(t, h)
	const dropIn = "/etc/ssh/sshd_config.d/50-root.conf"
	dir := rootPlan(t, h, `
task "file" "sshd" {
  path    = "`+dropIn+`"
  content = "PermitRootLogin prohibit-password\n"
}
`+earlyTimerTask(`grep -ls "^/usr/lib/openssh/sftp-serve[r]" /proc/[0-9]*/cmdline >/root/sftp-before
    setsid -f sh -c "until grep -qs \"rollback done\" /var/lib/hako/guard/*/log; do sleep 0.05; done
      grep -ls \"^/usr/lib/openssh/sftp-serve[r]\" /proc/[0-9]*/cmdline >/root/sftp-after.tmp
      mv /root/sftp-after.tmp /root/sftp-after" </dev/null >/dev/null 2>&1`)+`
task "file" "late" {
  path    = "/etc/hako-late"
  content = "late\n"
}
`)
	out := applyPastTheTimer(t, h, dir)
	for _, want := range []string{
		"the host's guard rolled back this run's changes (its timer ended, or someone rolled back by hand): nothing more is done on it",
		"file.late",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("hako's output lacks %q", want)
		}
	}
	// The run's SFTP server was there before the timer's rollback and
	// gone after it.
	if got := h.Exec(t, "cat /root/sftp-before"); got == "" {
		t.Errorf("no SFTP server before the timer's rollback: the run wrote no file?")
	}
	if got := h.Exec(t, "i=0; until [ -e /root/sftp-after ] || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done; cat /root/sftp-after"); got != "" {
		t.Errorf("SFTP servers left after the timer's rollback: %s", got)
	}
	if got := h.Exec(t, "ls /etc/hako-late "+dropIn+" 2>/dev/null || true"); got != "" {
		t.Errorf("after the timer's rollback these are on the host: %s", got)
	}
	if out, code, _ := h.SSHAs(t, root, "id -u"); code != 0 || out != "0\n" {
		t.Errorf("root cannot log in after the run: exit %d, %q", code, out)
	}
}
