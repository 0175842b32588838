package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

const listenDropIn = "/etc/ssh/sshd_config.d/20-listen.conf"

// sshdDropInNoRestart is a plan that writes conf as a drop-in of sshd's
// and restarts nothing: the sshd running keeps the old configuration.
// extra is more of the plan (tasks), after the drop-in's.
func sshdDropInNoRestart(t *testing.T, h *testhost.Host, conf, extra string) string {
	return planFor(t, h, `
task "file" "sshd_listen" {
  path     = "`+listenDropIn+`"
  content  = "`+conf+`\n"
}
`+extra)
}

// A change to sshd's files that no handler restarts: a new login still
// meets the old sshd and works, so the login alone would confirm a
// configuration that locks hako out at sshd's next restart. The
// confirmation also asks the sshd on disk (sshd -T for hako's login) and
// rolls back what it would refuse: the drop-in is gone, pi logs in after
// a restart.
//
// The lockout here is one the plan-time checks cannot see: DenyGroups
// names a group that a command task, not a user task, puts pi in, so
// sshd-login-user judges pi's groups as they are before the run and
// passes the plan; sshd on disk sees pi's groups on the host after it.
// Written by hand, the same drop-in does lock pi out once sshd restarts.
func TestSSHDOnDiskIsJudgedWithoutRestart(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})

	dir := sshdDropInNoRestart(t, h, "DenyGroups hakolocked", `
task "command" "lock_group" {
  command = "getent group hakolocked >/dev/null || groupadd hakolocked; usermod -aG hakolocked pi"
}
`)
	p := hako(t, "plan", "-detailed-exitcode", dir)
	if p.code != 2 {
		t.Fatalf("plan of a DenyGroups drop-in and a command adding pi to that group: want exit 2 (changes, nothing refused)\n%s", p)
	}
	if strings.Contains(p.stdout+p.stderr, "sshd-login-user") || strings.Contains(p.stdout+p.stderr, "refused") {
		t.Fatalf("the plan-time checks saw the lockout; this test needs one they cannot see:\n%s", p)
	}
	r := hako(t, "apply", dir)
	if r.code != 1 {
		t.Fatalf("apply of a DenyGroups drop-in without a restart: want exit 1\n%s", r)
	}
	mustContain(t, r, "changed  file.sshd_listen", "changed  command.lock_group",
		"host pi: sshd's configuration on disk would refuse the next login of pi once sshd restarts: denygroups hakolocked (names a group of pi's) (check sshd-login-user; -allow-risky sshd-login-user overrides it)",
		"rolled back", "reachable on port 22 as before")
	if got := h.Exec(t, "test -e "+listenDropIn+" && echo there || echo gone"); got != "gone\n" {
		t.Errorf("after the rollback the drop-in is %s", got)
	}
	if got := h.Exec(t, "id -Gn pi"); !strings.Contains(" "+got, " hakolocked") {
		t.Fatalf("the command task did not put pi in hakolocked (id -Gn pi: %q): the test proves nothing", got)
	}
	if ok, why := loginAfterRestart(t, h); !ok {
		t.Errorf("pi cannot log in after the rollback and a restart: %s", why)
	}
	// The refusal was right: with the drop-in, pi is locked out once sshd
	// restarts.
	h.Exec(t, "echo 'DenyGroups hakolocked' >"+listenDropIn)
	if ok, why := loginAfterRestart(t, h); ok {
		t.Errorf("pi logged in with DenyGroups hakolocked and pi in hakolocked (%s)", why)
	}
	h.Exec(t, "rm "+listenDropIn)
	if ok, why := loginAfterRestart(t, h); !ok {
		t.Fatalf("pi cannot log in after the drop-in was removed: %s", why)
	}

	r = hako(t, "apply", sshdDropInNoRestart(t, h, "LoginGraceTime 90", ""))
	if r.code != 0 {
		t.Fatalf("apply of a harmless drop-in:\n%s", r)
	}
	mustContain(t, r, "guarded change", "changed  file.sshd_listen", "confirmed over a new connection; the rollback is disarmed")

	// sshd on the host's port, but only on loopback: sshd-port judges
	// ports only, so no check refuses it and no override forces it.
	r = hako(t, "apply", "-allow-risky", "sshd-port", "-allow-risky", "sshd-login-user", sshdDropInNoRestart(t, h, "ListenAddress 127.0.0.1", ""))
	if r.code != 1 {
		t.Fatalf("apply of a loopback-only drop-in without a restart: want exit 1\n%s", r)
	}
	mustContain(t, r, "would refuse the next login of pi once sshd restarts: sshd would listen on 127.0.0.1:22, not on ", ":22;", "rolled back")
	if strings.Contains(r.stdout+r.stderr, "overridden by -allow-risky") {
		t.Errorf("a lockout no check covers was taken as overridden:\n%s", r)
	}
	if got := h.Exec(t, "cat "+listenDropIn); got != "LoginGraceTime 90\n" {
		t.Errorf("after the rollback the drop-in holds %q", got)
	}
	if ok, why := loginAfterRestart(t, h); !ok {
		t.Errorf("pi cannot log in after the rollback and a restart: %s", why)
	}

	// An Include loop: sshd-include refuses it at plan time; forced, sshd
	// -t on disk fails with too many recursive includes, which the same
	// override covers (a warning, confirmed).
	r = hako(t, "apply", "-allow-risky", "sshd-include", sshdDropInNoRestart(t, h, "Include "+listenDropIn, ""))
	if r.code != 0 {
		t.Fatalf("apply -allow-risky sshd-include of an Include loop without a restart: want exit 0\n%s", r)
	}
	mustContain(t, r, "warning: overridden by -allow-risky sshd-include: sshd's configuration on disk would refuse the next login of pi once sshd restarts: sshd -t: Too many recursive configuration includes",
		"changed  file.sshd_listen", "confirmed over a new connection; the rollback is disarmed")

	// Once restarted, sshd would listen on another port only: sshd-port
	// refuses that at plan time, and its override forces it on disk too
	// (a warning names it; the run confirms and the drop-in stays).
	r = hako(t, "apply", "-allow-risky", "sshd-port", sshdDropInNoRestart(t, h, "Port 2200", ""))
	if r.code != 0 {
		t.Fatalf("apply -allow-risky sshd-port of a Port drop-in without a restart: want exit 0\n%s", r)
	}
	mustContain(t, r, "warning: overridden by -allow-risky sshd-port: sshd's configuration on disk would refuse the next login of pi once sshd restarts: sshd would listen on ",
		":2200, not on ", "changed  file.sshd_listen", "confirmed over a new connection; the rollback is disarmed")
	if got := h.Exec(t, "cat "+listenDropIn); got != "Port 2200\n" {
		t.Errorf("after the forced change the drop-in holds %q", got)
	}
}
