package e2e

import (
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// sshdDropInNoRestart is a plan that writes conf as a drop-in of sshd's
// and restarts nothing: the sshd running keeps the old configuration.
func sshdDropInNoRestart(t *testing.T, h *testhost.Host, conf string) string {
	return planFor(t, h, `
task "file" "sshd_listen" {
  path     = "/etc/ssh/sshd_config.d/20-listen.conf"
  content  = "`+conf+`\n"
}
`)
}

// A change to sshd's files that no handler restarts: a new login still
// meets the old sshd and works, so the login alone would confirm a
// configuration that locks hako out at sshd's next restart. The
// confirmation also asks the sshd on disk (sshd -T for hako's login) and
// rolls back what it would refuse: the drop-in is gone, pi logs in after
// a restart. A harmless drop-in without a restart is confirmed as before.
func TestSSHDOnDiskIsJudgedWithoutRestart(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})

	// sshd-login-user refuses this plan; overridden, the guard must
	// still not confirm it.
	r := hako(t, "apply", "-allow-risky", "sshd-login-user", sshdDropInNoRestart(t, h, "DenyUsers pi"))
	if r.code != 1 {
		t.Fatalf("apply of a DenyUsers drop-in without a restart: want exit 1\n%s", r)
	}
	mustContain(t, r, "changed  file.sshd_listen",
		"host pi: sshd's configuration on disk would refuse the next login of pi once sshd restarts: denyusers pi (lists pi)",
		"rolled back", "reachable on port 22 as before")
	if got := h.Exec(t, "test -e /etc/ssh/sshd_config.d/20-listen.conf && echo there || echo gone"); got != "gone\n" {
		t.Errorf("after the rollback the drop-in is %s", got)
	}
	if ok, why := loginAfterRestart(t, h); !ok {
		t.Errorf("pi cannot log in after the rollback and a restart: %s", why)
	}

	r = hako(t, "apply", sshdDropInNoRestart(t, h, "LoginGraceTime 90"))
	if r.code != 0 {
		t.Fatalf("apply of a harmless drop-in:\n%s", r)
	}
	mustContain(t, r, "guarded change", "changed  file.sshd_listen", "confirmed over a new connection; the rollback is disarmed")

	// Once restarted, sshd would listen on another port only.
	r = hako(t, "apply", "-allow-risky", "sshd-port", sshdDropInNoRestart(t, h, "Port 2200"))
	if r.code != 1 {
		t.Fatalf("apply of a Port drop-in without a restart: want exit 1\n%s", r)
	}
	mustContain(t, r, "would refuse the next login of pi once sshd restarts: sshd would listen on", ":2200, not on ", ":22;", "rolled back")
	if got := h.Exec(t, "cat /etc/ssh/sshd_config.d/20-listen.conf"); got != "LoginGraceTime 90\n" {
		t.Errorf("after the rollback the drop-in holds %q", got)
	}
	if ok, why := loginAfterRestart(t, h); !ok {
		t.Errorf("pi cannot log in after the rollback and a restart: %s", why)
	}
}
