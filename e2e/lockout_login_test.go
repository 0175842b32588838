package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// Two lockout checks on a real host whose refusal only unit tests showed:
// sshd-login-user for hako logging in as root, and login-user-shell.

// rootPlan writes a plan whose host "pi" logs in to h as root (no
// become: root is already root) with the test key; body follows.
func rootPlan(t *testing.T, h *testhost.Host, body string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), fmt.Sprintf(`
host "pi" {
  address       = %q
  port          = %d
  user          = "root"
  identity_file = %q
  known_hosts   = %q
}
`, h.Addr, h.Port, h.KeyFile, h.KnownHostsFile(t))+body)
	return dir
}

// rootLogin lets root log in to h with the test key, as a host managed as
// root has it (Debian's sshd lets root in by key: PermitRootLogin
// prohibit-password is its default).
func rootLogin(t *testing.T, h *testhost.Host) testhost.Login {
	t.Helper()
	h.Exec(t, "install -d -m 0700 /root/.ssh && install -m 0600 /home/pi/.ssh/authorized_keys /root/.ssh/authorized_keys")
	root := testhost.Login{User: "root"}
	if out, code, _ := h.SSHAs(t, root, "id -u"); code != 0 || out != "0\n" {
		t.Fatalf("root cannot log in by key on a fresh host: exit %d, %q", code, out)
	}
	return root
}

// rootLoginAfterRestart restarts sshd on h and logs in as root by key:
// whether that worked and, if not, ssh's error (as loginAfterRestart).
func rootLoginAfterRestart(t *testing.T, h *testhost.Host, root testhost.Login) (bool, string) {
	t.Helper()
	h.Exec(t, "/etc/init.d/ssh restart >/dev/null")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, code, stderr := h.SSHAs(t, root, "id -u")
		switch {
		case code == 0 && out == "0\n":
			return true, ""
		case strings.Contains(stderr, "Permission denied"):
			return false, strings.TrimSpace(stderr)
		case time.Now().After(deadline):
			t.Fatalf("sshd did not answer after its restart: exit %d, %s", code, stderr)
		}
	}
}

// sshd-login-user with hako logging in as root: PermitRootLogin no and
// forced-commands-only are refused by plan and apply, naming host and
// task, with the host unchanged and root still let in; prohibit-password
// (keys only) applies, and root still logs in once sshd reads it. With
// -allow-risky, PermitRootLogin no really locks root out.
func TestLintSSHDLoginUserRoot(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	root := rootLogin(t, h)
	const dropIn = "/etc/ssh/sshd_config.d/50-root.conf"
	body := func(value string) string {
		return fmt.Sprintf("task \"file\" \"root\" {\n  path    = %q\n  content = \"PermitRootLogin %s\\n\"\n}\n", dropIn, value)
	}
	for _, value := range []string{"no", "forced-commands-only"} {
		dir := rootPlan(t, h, body(value))
		refusedEverywhere(t, h, dir, "file.root", "sshd-login-user",
			fmt.Sprintf(`file.root would lock hako out: %s:1 "PermitRootLogin %s" refuses root's key login; sshd would refuse hako's login as root.`, dropIn, value))
		if out, code, _ := h.SSHAs(t, root, "id -u; test -e "+dropIn+" && echo written || true"); code != 0 || out != "0\n" {
			t.Errorf("PermitRootLogin %s: after the refusal root logs in: exit %d, %q (want 0, the drop-in not written)", value, code, out)
		}
	}

	dir := rootPlan(t, h, body("prohibit-password"))
	r := hako(t, "apply", dir)
	if r.code != 0 {
		t.Fatalf("apply PermitRootLogin prohibit-password: want exit 0\n%s", r)
	}
	mustContain(t, r, "changed  file.root")
	if strings.Contains(r.stdout+r.stderr, "sshd-login-user") {
		t.Errorf("PermitRootLogin prohibit-password was judged a lockout:\n%s", r)
	}
	if ok, why := rootLoginAfterRestart(t, h, root); !ok {
		t.Errorf("root cannot log in by key with PermitRootLogin prohibit-password: %s", why)
	}

	// The refusal is right: once sshd reads PermitRootLogin no, root's
	// key login is refused.
	dir = rootPlan(t, h, body("no"))
	r = hako(t, "apply", "-allow-risky", "sshd-login-user", dir)
	if r.code != 0 {
		t.Fatalf("apply -allow-risky: want exit 0\n%s", r)
	}
	// The confirmation's look at the sshd on disk honours it too.
	mustContain(t, r, "warning: overridden by -allow-risky sshd-login-user: sshd's configuration on disk would refuse the next login of root once sshd restarts: permitrootlogin no (refuses root's key login)",
		"confirmed over a new connection; the rollback is disarmed")
	if ok, _ := rootLoginAfterRestart(t, h, root); ok {
		t.Errorf("root logged in by key with PermitRootLogin no")
	}
	h.Exec(t, "rm "+dropIn)
	if ok, why := rootLoginAfterRestart(t, h, root); !ok {
		t.Fatalf("root cannot log in after the drop-in was removed: %s", why)
	}
}

// login-user-shell: a user task that gives a shell that runs no command
// to the user hako logs in as (pi), to the bootstrap user while hako is
// connected as it (pi on a fresh card), or to the host's user that the
// bootstrap session creates (alice), is refused by plan and apply, naming
// host and task, with /etc/passwd as it was and pi still let in. The same
// shell for a user hako does not log in as applies.
func TestLintLoginUserShell(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	k := testhost.NewKeyPair(t, t.TempDir(), "alice@test")
	passwd := h.Exec(t, "sha256sum /etc/passwd /etc/shadow")
	for _, c := range []struct {
		name, dir, task, user, shell string
	}{
		{"host's user", planFor(t, h, "task \"user\" \"pi\" {\n  name  = \"pi\"\n  shell = \"/usr/sbin/nologin\"\n}\n"), "user.pi", "pi", "/usr/sbin/nologin"},
		{"bootstrap user", freshCardPlan(t, h, "task \"user\" \"pi\" {\n  name  = \"pi\"\n  shell = \"/bin/false\"\n}\n"), "user.pi", "pi", "/bin/false"},
		{"host's user made by the bootstrap session", freshCardPlan(t, h, fmt.Sprintf(
			"task \"user\" \"admin\" {\n  name            = \"alice\"\n  groups          = [\"sudo\"]\n  sudo            = \"nopasswd\"\n  authorized_keys = [%q]\n  shell           = \"/usr/sbin/nologin\"\n}\n", k.Public)),
			"user.admin", "alice", "/usr/sbin/nologin"},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			refusedEverywhere(t, h, c.dir, c.task, "login-user-shell",
				fmt.Sprintf(`%s would give %q, whom hako logs in as, the shell %s: sshd runs every command through it`, c.task, c.user, c.shell))
			if got := h.Exec(t, "sha256sum /etc/passwd /etc/shadow"); got != passwd {
				t.Errorf("/etc/passwd or /etc/shadow changed:\n%s\nwas:\n%s", got, passwd)
			}
			if got := h.Exec(t, "getent passwd pi | cut -d: -f7; getent passwd alice || true"); got != "/bin/bash\n" {
				t.Errorf("pi's shell, alice: %q", got)
			}
		})
	}

	// Not a user hako logs in as: the same shell applies.
	dir := planFor(t, h, "task \"user\" \"svc\" {\n  name  = \"svc\"\n  shell = \"/usr/sbin/nologin\"\n}\n")
	r := hako(t, "apply", dir)
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "login-user-shell") {
		t.Fatalf("a service user with nologin: want exit 0 and no refusal\n%s", r)
	}
	if got := h.Exec(t, "getent passwd svc | cut -d: -f7"); got != "/usr/sbin/nologin\n" {
		t.Errorf("svc's shell: %q", got)
	}
	if _, err := os.Stat(h.KeyFile); err != nil {
		t.Fatal(err)
	}
}
