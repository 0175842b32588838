package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// A change to sshd's configuration is guarded without -confirm, as a port
// move is. A harmless drop-in: plan says apply will guard it; apply arms
// the rollback, confirms over a new connection after the restart, and
// removes the guard, so the next run is not refused (pending-rollback)
// and, changing nothing, arms nothing. A drop-in that every lockout check
// lets through but that cuts new connections (sshd listens on loopback
// only): apply rolls it back through the session it holds, and the host
// answers as before.
func TestSSHDChangeIsGuardedWithoutConfirm(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	const always = "guarded change (file.sshd_listen changes SSH's configuration, which is always guarded; -confirm sets the time): " +
		"the host rolls back its SSH, firewall and network configuration by itself within 10m0s unless hako confirms over a new connection"

	dir := sshdDropIn(t, h, "LoginGraceTime 90")
	p := hako(t, "plan", dir)
	if p.code != 0 {
		t.Fatalf("plan:\n%s", p)
	}
	mustContain(t, p, "note: apply: "+always, "+ file.sshd_listen")
	r := hako(t, "apply", dir)
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	mustContain(t, r, always, "changed  file.sshd_listen", "changed  handler restart_ssh", "confirmed over a new connection; the rollback is disarmed")
	if got := h.Exec(t, "ls /var/lib/hako/guard | wc -l"); strings.TrimSpace(got) != "0" {
		t.Errorf("guard snapshots left: %s", got)
	}
	again := hako(t, "apply", dir)
	if again.code != 0 || strings.Contains(again.stdout+again.stderr, "guarded change") || strings.Contains(again.stdout+again.stderr, "pending-rollback") {
		t.Errorf("the next apply:\n%s", again)
	}
	mustContain(t, again, "pi  ok=1 changed=0")

	dir = sshdDropIn(t, h, "ListenAddress 127.0.0.1")
	r = hako(t, "apply", dir)
	if r.code != 1 {
		t.Fatalf("apply of a cutting drop-in: want exit 1\n%s", r)
	}
	mustContain(t, r, always, "changed  file.sshd_listen", "does not work", "rolled back", "reachable on port 22 as before")
	if got := h.Exec(t, "cat /etc/ssh/sshd_config.d/20-listen.conf"); got != "LoginGraceTime 90\n" {
		t.Errorf("after the rollback the drop-in holds %q", got)
	}
	if ok, why := loginAfterRestart(t, h); !ok {
		t.Errorf("pi cannot log in after the rollback: %s", why)
	}
	if out, code := h.SSH(t, "echo in"); code != 0 || out != "in\n" {
		t.Errorf("pi after the rollback, without a restart: exit %d, %q", code, out)
	}

	// The new login works, but sshd runs /bin/true in place of every
	// command (exit 0, no output): hako could never work over it, so the
	// disarm that did not run must not count as a confirmation.
	dir = sshdDropIn(t, h, `Match User pi\n  ForceCommand /bin/true`)
	r = hako(t, "apply", dir)
	if r.code != 1 {
		t.Fatalf("apply of a ForceCommand drop-in: want exit 1\n%s", r)
	}
	mustContain(t, r, always, "changed  file.sshd_listen", "could not be disarmed over it", "did not run", "rolled back", "reachable on port 22 as before")
	if got := h.Exec(t, "cat /etc/ssh/sshd_config.d/20-listen.conf"); got != "LoginGraceTime 90\n" {
		t.Errorf("after the rollback the drop-in holds %q", got)
	}
	if out, code := h.SSH(t, "echo in"); code != 0 || out != "in\n" {
		t.Errorf("pi after the rollback: exit %d, %q", code, out)
	}
	if got := h.Exec(t, "ls /var/lib/hako/guard/*/rolledback 2>/dev/null | wc -l"); strings.TrimSpace(got) != "2" {
		t.Errorf("rolled-back guards on the host: %s", got)
	}
}
