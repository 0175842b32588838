package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// sshd-login-user on a real host: a drop-in whose AllowUsers leaves out
// pi, the user hako logs in as, is refused by plan and apply with nothing
// changed; with -allow-risky it applies, and once sshd reads it pi is
// really locked out (restored by hand); AllowUsers pi applies.
func TestLintSSHDLoginUser(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	const dropIn = "/etc/ssh/sshd_config.d/50-allow.conf"
	body := func(content string) string {
		return fmt.Sprintf("task \"file\" \"allow\" {\n  path    = %q\n  content = %q\n}\n", dropIn, content)
	}
	dir := planFor(t, h, body("AllowUsers someoneelse\n"))
	refusedEverywhere(t, h, dir, "file.allow", "sshd-login-user",
		`file.allow would lock hako out: /etc/ssh/sshd_config.d/50-allow.conf:1 "AllowUsers someoneelse" leaves out pi; sshd would refuse hako's login as pi`)

	r := hako(t, "apply", "-allow-risky", "sshd-login-user", dir)
	if r.code != 0 {
		t.Fatalf("apply -allow-risky: want exit 0\n%s", r)
	}
	mustContain(t, r, "warning: overridden by -allow-risky sshd-login-user: file.allow would lock hako out", "changed  file.allow")
	if got := h.Exec(t, "cat "+dropIn); got != "AllowUsers someoneelse\n" {
		t.Errorf("%s holds %q", dropIn, got)
	}
	// The refusal was right: once sshd reads the file, pi cannot log in.
	if ok, why := loginAfterRestart(t, h); ok {
		t.Errorf("pi logged in with AllowUsers someoneelse (%s)", why)
	}
	h.Exec(t, "rm "+dropIn)
	if ok, why := loginAfterRestart(t, h); !ok {
		t.Fatalf("pi cannot log in after the drop-in was removed: %s", why)
	}

	dir = planFor(t, h, body("AllowUsers pi\n"))
	r = hako(t, "apply", dir)
	if r.code != 0 {
		t.Fatalf("apply AllowUsers pi: want exit 0\n%s", r)
	}
	mustContain(t, r, "changed  file.allow")
	if strings.Contains(r.stdout+r.stderr, "sshd-login-user") {
		t.Errorf("AllowUsers pi was judged a lockout:\n%s", r)
	}
	if ok, why := loginAfterRestart(t, h); !ok {
		t.Errorf("pi cannot log in with AllowUsers pi: %s", why)
	}
}

// loginAfterRestart restarts sshd on h and logs in as pi by key with
// OpenSSH's client: whether that worked and, if not, ssh's error. A
// refused connection while sshd restarts is tried again (for up to a
// minute); only an answer from sshd counts.
func loginAfterRestart(t *testing.T, h *testhost.Host) (bool, string) {
	t.Helper()
	h.Exec(t, "/etc/init.d/ssh restart >/dev/null")
	deadline := time.Now().Add(time.Minute)
	for {
		out, code, stderr := h.SSHAs(t, testhost.Login{}, "echo in")
		switch {
		case code == 0 && strings.TrimSpace(out) == "in":
			return true, ""
		case strings.Contains(stderr, "Permission denied"):
			return false, strings.TrimSpace(stderr)
		case time.Now().After(deadline):
			t.Fatalf("sshd did not answer after its restart: exit %d, %s", code, stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
