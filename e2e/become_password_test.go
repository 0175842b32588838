//go:build linux

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// A host whose sudo asks for a password (Debian's and Ubuntu's installer
// default). Without the password hako refuses it at connect, naming the
// host and the two ways to give it; a wrong one is refused once. With
// -ask-become-password typed on a terminal, the probes, a command, a
// package (apt), a file written by the root sftp-server and a file in
// pi's home (written by the sftp-server run as pi) all go through sudo,
// and the password is in none of hako's output or echo, in no command
// line on the host (ps, sampled all along the run) and not in its journal.
func TestBecomePasswordOnARealHost(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	const pw = "Sudo-Pw-4d17e9"
	h.SudoAsksPassword(t, pw)
	h.LocalAptRepo(t, "hako-sudo-pkg")
	dir := planFor(t, h, `
task "command" "whoami" {
  command = "id -un >/root/become-whoami"
  creates = "/root/become-whoami"
}

task "package" "pkg" {
  names = ["hako-sudo-pkg"]
}

task "file" "etc" {
  path    = "/etc/hako-become"
  content = "as root\n"
}

task "file" "home" {
  path    = "/home/pi/hako-become"
  content = "as pi\n"
  owner   = "pi"
}
`)

	// No password: refused at connect, nothing done.
	r := hako(t, "apply", dir)
	if r.code != 1 {
		t.Fatalf("apply without a password: want exit 1:\n%s", r)
	}
	mustContain(t, r, `host "pi"`, "sudo asks user \"pi\" for a password", "-ask-become-password", "become_password")
	if out := h.Exec(t, "ls /root/become-whoami /etc/hako-become 2>&1 || true"); !strings.Contains(out, "No such file") {
		t.Fatalf("something was done without the password: %s", out)
	}

	// A wrong password (from a pipe): refused once, not shown.
	const wrong = "Wrong-Pw-93b0"
	r = hakoWithStdin(t, wrong+"\n", "apply", "-ask-become-password", dir)
	if r.code != 1 || !strings.Contains(r.stdout, `sudo refused the become password of user "pi"`) || strings.Contains(r.stdout, wrong) {
		t.Fatalf("apply with a wrong password:\n%s", r)
	}

	// ps inside the host, all along the run.
	h.Exec(t, `rm -f /run/ps.log /run/ps.stop; setsid sh -c 'while [ ! -e /run/ps.stop ]; do ps -eo args >>/run/ps.log; done' </dev/null >/dev/null 2>&1 &`)

	p := startOnPty(t, "apply", "-ask-become-password", dir)
	p.waitFor(t, "Become (sudo) password (not echoed): ", 2*time.Minute)
	p.typeSecret(t, pw)
	r = p.wait(t)
	h.Exec(t, "touch /run/ps.stop")
	t.Logf("apply on a terminal: exit %d in %v", r.code, r.elapsed.Round(time.Millisecond))
	if r.code != 0 {
		t.Fatalf("apply with -ask-become-password failed:\n%s", r)
	}
	mustContain(t, r, "changed  command.whoami", "changed  package.pkg", "changed  file.etc", "changed  file.home")
	if strings.Contains(r.stdout, pw) {
		t.Errorf("the password is in hako's output (or was echoed):\n%s", r.stdout)
	}
	if got := h.Exec(t, "cat /root/become-whoami; stat -c '%U %a' /etc/hako-become /home/pi/hako-become; dpkg-query -W -f '${Status}\n' hako-sudo-pkg"); got != "root\nroot 644\npi 644\ninstall ok installed\n" {
		t.Errorf("on the host: %q", got)
	}

	// Not vacuous: the samples saw hako's sudo at work (the sftp-server
	// lives through the run), with the password nowhere.
	ps := h.Exec(t, "sleep 0.5; cat /run/ps.log")
	if !strings.Contains(ps, "sudo -k -S -p  -- ") {
		t.Errorf("ps never saw hako's sudo (%d bytes sampled)", len(ps))
	}
	if strings.Contains(ps, pw) {
		t.Error("the password is on a command line inside the host")
	}

	journal := h.Exec(t, "journalctl --no-pager -o cat")
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(journal, "COMMAND=/usr/bin/env HAKO_") && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		journal = h.Exec(t, "journalctl --no-pager -o cat")
	}
	if !strings.Contains(journal, "COMMAND=/usr/bin/env HAKO_") || !strings.Contains(journal, "pam_unix(sudo:auth)") {
		t.Errorf("no sudo lines of hako's in the journal:\n%s", lastLines(journal, 40))
	}
	for _, secret := range []string{pw, wrong} {
		if strings.Contains(journal, secret) {
			t.Errorf("a password is in the host's journal:\n%s", lastLines(journal, 40))
		}
	}

	// A second run changes nothing: the probes see what the first did.
	p = startOnPty(t, "plan", "-ask-become-password", dir)
	p.waitFor(t, "Become (sudo) password (not echoed): ", 2*time.Minute)
	p.typeSecret(t, pw)
	if r = p.wait(t); r.code != 0 || strings.Contains(r.stdout, pw) || !strings.Contains(r.stdout, "Plan: 0 to change, 4 unchanged") {
		t.Errorf("plan after apply:\n%s", r)
	}
}
