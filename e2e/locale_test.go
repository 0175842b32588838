package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// A host whose logins speak Japanese (a Japanese user's Pi would): sshd's
// PAM reads /etc/default/locale, sudo keeps LANGUAGE, and coreutils then
// translates what hako's probes parse. hako still converges and then
// reports changed=0.
func TestHostInAnotherLanguage(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, "printf 'LANG=C.UTF-8\\nLANGUAGE=ja\\n' >/etc/default/locale")
	if out, _ := h.SSH(t, "sudo -n stat -c %F /"); strings.TrimSpace(out) == "directory" || strings.TrimSpace(out) == "" {
		t.Fatalf("the login does not speak Japanese (stat says %q): the test would prove nothing", out)
	}
	dir := planFor(t, h, `
task "directory" "app" {
  path = "/opt/app"
  mode = "0750"
}

task "file" "conf" {
  path    = "/opt/app/app.conf"
  content = "lang=ja\n"
  mode    = "0640"
}
`)
	if r := hako(t, "apply", dir); r.code != 0 {
		t.Fatalf("first apply:\n%s", r)
	}
	mustContain(t, hako(t, "apply", dir), "\npi  ok=2 changed=0 failed=0 skipped=0\n")
}
