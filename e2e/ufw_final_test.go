package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// After apply, the rules ufw holds are compared with those the plan
// predicted (and the lockout check examined). Here ufw is wrapped so that
// enabling it also adds a rule nobody planned: the plan does not manage
// undeclared rules (exclusive = false), so a re-check finds nothing to
// do, and only the comparison sees that the host's firewall is not the
// one that was checked. The task fails, naming the host, the task and
// the rules.
func TestUFWResultDiffersFromPrediction(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, `mv /usr/sbin/ufw /usr/sbin/ufw.real && cat >/usr/sbin/ufw <<'EOF2'
#!/bin/sh
/usr/sbin/ufw.real "$@" || exit
case "$1" in --force) /usr/sbin/ufw.real allow 9999/tcp >/dev/null ;; esac
EOF2
chmod 755 /usr/sbin/ufw`)
	dir := planFor(t, h, fmt.Sprintf(`
task "ufw" "firewall" {
  rule {
    port  = %d
    proto = "tcp"
  }
  rule { port = 80 }
}
`, h.Port))
	apply := hako(t, "apply", dir)
	if apply.code != 1 {
		t.Fatalf("apply: want exit 1\n%s", apply)
	}
	mustContain(t, apply,
		`pi  failed   ufw.firewall: host pi: ufw.firewall: after apply, the host differs from the plan: ufw's rules differ from those predicted (and checked for lockout): `+
			`ufw holds IPv4 rule 3, "allow 9999/tcp from 0.0.0.0/0", which was not predicted; ufw holds IPv6 rule 3, "allow 9999/tcp from ::/0", which was not predicted`,
		"\npi  ok=0 changed=0 failed=1 skipped=0\n")
	if !strings.Contains(h.Exec(t, "ufw.real status"), "9999/tcp") {
		t.Error("the wrapped ufw did not add its rule")
	}
}
