package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// sshdDropIn is a plan that changes sshd's configuration and restarts it.
func sshdDropIn(t *testing.T, h *testhost.Host, conf string) string {
	return planFor(t, h, `
task "file" "sshd_listen" {
  path     = "/etc/ssh/sshd_config.d/20-listen.conf"
  content  = "`+conf+`\n"
  validate = "/usr/sbin/sshd -t -f %s"
  notify   = ["restart_ssh"]
}
handler "restart_ssh" {
  command = "service ssh restart"
}
`)
}

// -confirm on an ordinary apply that touches sshd: armed, confirmed over a
// new connection, disarmed; nothing is left on the host.
func TestConfirmGuardsAnSSHChange(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	r := hako(t, "apply", "-confirm", "60s", sshdDropIn(t, h, "LoginGraceTime 90"))
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	mustContain(t, r, "guarded change", "confirmed over a new connection", "changed  file.sshd_listen")
	if got := h.Exec(t, "ls /var/lib/hako/guard | wc -l"); strings.TrimSpace(got) != "0" {
		t.Errorf("guard snapshots left: %s", got)
	}
}

// The change cuts new connections (sshd listens on loopback only): hako
// cannot confirm, rolls back through the session it holds, and the host
// answers again.
func TestConfirmRollsBackACuttingChange(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	r := hako(t, "apply", "-confirm", "60s", "-connect-timeout", "3s", sshdDropIn(t, h, "ListenAddress 127.0.0.1"))
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "guarded change", "rolled back", "reachable on port 22")
	if out, code := h.SSH(t, "test -e /etc/ssh/sshd_config.d/20-listen.conf && echo present || echo absent"); code != 0 || strings.TrimSpace(out) != "absent" {
		t.Errorf("after the rollback: %d %q", code, out)
	}
}
