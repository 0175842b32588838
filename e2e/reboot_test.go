package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// A host that really reboots mid-apply: a command task runs `systemctl
// reboot` on a systemd host, which shuts down (sshd, hako's session and
// the command with it) and boots again. The apply fails that task with a
// line naming host and task, exit 1; the file written before is whole,
// the task after is not run, no temp file of hako's is left; once the host
// is back, one apply converges (the command's `creates` is there) and the
// next plan has nothing to do.
func TestHostRebootsMidApply(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	h.Exec(t, "printf 'old\\n' >/etc/hako-boot.conf; touch /run/hako-before-reboot")
	boot := h.BootID(t)
	dir := planFor(t, h, `
task "file" "conf" {
  path    = "/etc/hako-boot.conf"
  content = "new\n"
}
task "command" "reboot" {
  command = "touch /var/lib/hako-rebooted; systemctl reboot; sleep 300"
  creates = "/var/lib/hako-rebooted"
}
task "file" "after" {
  path    = "/etc/hako-after.conf"
  content = "after\n"
}
`)
	r := hako(t, "apply", dir)
	t.Logf("apply across the reboot: exit %d in %v\n%s", r.code, r.elapsed.Round(time.Millisecond), r)
	if r.code != 1 {
		t.Errorf("want exit 1\n%s", r)
	}
	mustContain(t, r, "pi  changed  file.conf")
	line := ""
	for _, l := range strings.Split(r.stdout+r.stderr, "\n") {
		if strings.HasPrefix(l, "pi  failed   command.reboot:") {
			line = l
		}
	}
	reason := regexp.MustCompile(`the connection was closed while the command ran, so whether it finished is unknown \(the host rebooted`)
	if !reason.MatchString(line) {
		t.Errorf("no line `pi  failed   command.reboot: ...` saying the connection closed (want %v): %q\n%s", reason, line, r)
	}
	mustContain(t, r, "pi  skipped  file.after\n", "pi  ok=0 changed=1 failed=1 skipped=1")

	t0 := time.Now()
	h.WaitRebooted(t, boot, 3*time.Minute)
	t.Logf("the host was back %v after hako ended", time.Since(t0).Round(time.Millisecond))
	if got := h.Exec(t, "test -e /run/hako-before-reboot && echo not rebooted || true"); got != "" {
		t.Fatalf("the host did not reboot: %q", got)
	}
	if got := h.Exec(t, "cat /etc/hako-boot.conf; test -e /etc/hako-after.conf && echo after written || true; ls -A /etc | grep -F '.hako-' || true"); got != "new\n" {
		t.Errorf("after the reboot: %q, want the file whole and new, nothing after the reboot written, no temp file", got)
	}

	again := hako(t, "apply", dir)
	if again.code != 0 {
		t.Fatalf("once the host is back, apply: want exit 0\n%s", again)
	}
	mustContain(t, again, "changed  file.after", "pi  ok=2 changed=1 failed=0")
	if got := h.Exec(t, "cat /etc/hako-boot.conf /etc/hako-after.conf"); got != "new\nafter\n" {
		t.Errorf("after the second apply: %q", got)
	}
	if plan := hako(t, "plan", "-detailed-exitcode", dir); plan.code != 0 {
		t.Errorf("plan after the second apply: want exit 0 (nothing to do)\n%s", plan)
	}
	if h.BootID(t) == boot {
		t.Errorf("the boot ID did not change")
	}
}
