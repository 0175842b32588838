package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// sshd-include on a real host: drop-ins that include each other (each
// includes every drop-in) are a loop sshd itself stops at. plan reads
// them, says so and finishes at once; a plan that writes such a drop-in
// is refused, and the host is left as it was.
func TestLintSSHDIncludeLoop(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, `for n in a b c; do printf 'Include /etc/ssh/sshd_config.d/*.conf\nInclude /etc/ssh/*\n' >/etc/ssh/sshd_config.d/$n.conf; done`)
	dir := planFor(t, h, `
task "file" "motd" {
  path    = "/etc/motd"
  content = "hello\n"
}
`)
	t0 := time.Now()
	plan := hako(t, "plan", dir)
	took := time.Since(t0)
	t.Logf("plan with three drop-ins including each other: %v", took.Round(time.Millisecond))
	if plan.code != 0 {
		t.Errorf("plan: want exit 0\n%s", plan)
	}
	mustContain(t, plan, "warning: the host's own sshd configuration: /etc/ssh/sshd_config.d/a.conf is included again from within itself",
		`"Too many recursive configuration includes"`, "(check sshd-include)")

	dir = planFor(t, h, `
task "file" "loop" {
  path    = "/etc/ssh/sshd_config.d/00-loop.conf"
  content = "Include /etc/ssh/sshd_config.d/*.conf\n"
}
`)
	h.Exec(t, "rm /etc/ssh/sshd_config.d/a.conf /etc/ssh/sshd_config.d/b.conf /etc/ssh/sshd_config.d/c.conf")
	before := hostSnapshot(t, h)
	r := hako(t, "apply", dir)
	if r.code != 1 {
		t.Errorf("apply: want exit 1\n%s", r)
	}
	mustContain(t, r, "pi  failed   file.loop: refused: file.loop writes /etc/ssh/sshd_config.d/00-loop.conf; /etc/ssh/sshd_config.d/00-loop.conf is included again from within itself",
		"(check sshd-include; -allow-risky sshd-include overrides it)")
	if strings.Contains(r.stdout, "changed  ") {
		t.Errorf("a refused apply changed something:\n%s", r)
	}
	if after := hostSnapshot(t, h); after != before {
		t.Errorf("a refused apply changed the host:\n%s\n%s", before, after)
	}
}
