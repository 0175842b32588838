package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// Sensitive content written into an existing world-readable file with no
// mode set leaves it 0600: the plan shows the mode change, and the second
// apply changes nothing.
func TestSensitiveContentTightensWorldReadableFile(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, `printf 'TOKEN=\n' >/etc/app.env; chmod 644 /etc/app.env`)
	dir := planFor(t, h, `
variable "token" {
  type      = string
  sensitive = true
}

task "file" "env" {
  path    = "/etc/app.env"
  content = "TOKEN=${var.token}\n"
}
`)
	vars := []string{"-var", "token=" + token, dir}
	plan := hako(t, append([]string{"plan"}, vars...)...)
	mustContain(t, plan, "~ file.env  update /etc/app.env", "mode: 0644 → 0600")
	apply := hako(t, append([]string{"apply"}, vars...)...)
	mustContain(t, apply, "\npi  ok=0 changed=1 failed=0 skipped=0\n")
	again := hako(t, append([]string{"apply"}, vars...)...)
	mustContain(t, again, "\npi  ok=1 changed=0 failed=0 skipped=0\n")
	noSecret(t, plan, apply, again)
	if got := h.Exec(t, "stat -c %a /etc/app.env"); strings.TrimSpace(got) != "600" {
		t.Errorf("mode %s, want 600", got)
	}
}
