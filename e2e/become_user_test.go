package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// become_user other than root: scripts run as that user (sudo -u) and
// files are written by an sftp-server running as that user.
// Then a sudo that asks pi for a password except for /usr/bin/env (the
// command hako's scripts and SFTP servers start with): everything runs
// through sudo -n, as sudo allows, without the password, which must not
// show.
func TestBecomeUserAndUnaskedPassword(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, "useradd -m -s /bin/sh app")
	dir := planFor(t, h, `
variable "sudo_password" {
  type      = string
  sensitive = true
  default   = null
}

task "command" "whoami" {
  command = "id -un >/home/app/whoami"
  creates = "/home/app/whoami"
}

task "file" "own" {
  path    = "/home/app/own"
  content = "mine\n"
}
`)
	plan := filepath.Join(dir, "plan.hcl")
	src, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	const become = "  become        = true\n"
	if !strings.Contains(string(src), become) {
		t.Fatalf("no become line in the host block:\n%s", src)
	}
	writeFile(t, plan, strings.Replace(string(src), become, become+`  become_user   = "app"
  become_password = var.sudo_password
`, 1))

	r := hako(t, "apply", dir)
	if r.code != 0 {
		t.Fatalf("apply as app:\n%s", r)
	}
	if got := h.Exec(t, "cat /home/app/whoami; stat -c '%U %G %a' /home/app/own"); got != "app\napp app 644\n" {
		t.Errorf("on the host: %q", got)
	}

	const pw = "Sudo-Pw-b71c02"
	h.SudoAsksPassword(t, pw)
	h.Exec(t, `echo 'pi ALL=(ALL) NOPASSWD: /usr/bin/env' >/etc/sudoers.d/020_pi-env && chmod 0440 /etc/sudoers.d/020_pi-env && rm /home/app/whoami /home/app/own`)
	r = hakoWithStdin(t, pw+"\n", "apply", "-ask-become-password", dir)
	if r.code != 0 {
		t.Errorf("apply where sudo does not ask for env:\n%s", r)
	}
	if strings.Contains(r.stdout, pw) {
		t.Errorf("the password is in the output:\n%s", r.stdout)
	}
	if got := h.Exec(t, "cat /home/app/whoami; stat -c '%U %G %a' /home/app/own"); got != "app\napp app 644\n" {
		t.Errorf("on the host: %q", got)
	}
}
