package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// A root-only file on the host may hold a secret the plan does not mark
// (here a password the plan now replaces with another line): plan shows
// its line counts, not its lines, and the plan's content as added lines.
// A world-readable file is diffed as usual.
func TestPlanHidesHostContentThatIsNotWorldReadable(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, "mkdir -p /etc/ppp && printf 'bob * HUNTER2-old *\\n' > /etc/ppp/chap-secrets && chmod 0600 /etc/ppp/chap-secrets && "+
		"printf 'old motd\\n' > /etc/motd && chmod 0644 /etc/motd")
	dir := planFor(t, h, `
task "file" "chap" {
  path    = "/etc/ppp/chap-secrets"
  content = "# managed by hako\nbob * from-a-template *\n"
}
task "file" "motd" {
  path    = "/etc/motd"
  content = "new motd\n"
}
`)
	r := hako(t, "plan", dir)
	if r.code != 0 {
		t.Fatalf("plan:\n%s", r)
	}
	mustContain(t, r, "(host content not shown: the file is not world-readable; 1 → 2 lines)",
		"+# managed by hako", "+bob * from-a-template *", "-old motd", "+new motd")
	if strings.Contains(r.stdout+r.stderr, "HUNTER2") {
		t.Errorf("the host's root-only content is shown:\n%s", r)
	}
}
