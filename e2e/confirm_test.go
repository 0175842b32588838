package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// sshdDropIn is a plan that changes sshd's configuration and restarts it.
func sshdDropIn(t *testing.T, h *testhost.Host, conf string) string {
	return planFor(t, h, `
task "file" "sshd_listen" {
  path     = "/etc/ssh/sshd_config.d/20-listen.conf"
  content  = "`+conf+`\n"
  validate = "/usr/sbin/sshd -t -f %s"
  notify   = ["restart_ssh"]
}
handler "restart_ssh" {
  command = "service ssh restart"
}
`)
}

// -confirm on an ordinary apply that touches sshd: armed, confirmed over a
// new connection, disarmed; nothing is left on the host.
func TestConfirmGuardsAnSSHChange(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	r := hako(t, "apply", "-confirm", "60s", sshdDropIn(t, h, "LoginGraceTime 90"))
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	mustContain(t, r, "guarded change", "confirmed over a new connection", "changed  file.sshd_listen")
	if got := h.Exec(t, "ls /var/lib/hako/guard | wc -l"); strings.TrimSpace(got) != "0" {
		t.Errorf("guard snapshots left: %s", got)
	}
}

// The change cuts new connections (sshd listens on loopback only): hako
// cannot confirm, rolls back through the session it holds, and the host
// answers again.
func TestConfirmRollsBackACuttingChange(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	r := hako(t, "apply", "-confirm", "60s", sshdDropIn(t, h, "ListenAddress 127.0.0.1"))
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "guarded change", "rolled back", "reachable on port 22")
	if out, code := h.SSH(t, "test -e /etc/ssh/sshd_config.d/20-listen.conf && echo present || echo absent"); code != 0 || strings.TrimSpace(out) != "absent" {
		t.Errorf("after the rollback: %d %q", code, out)
	}
}

// hako killed after arming (laptop closed, kill -9): the next run is
// refused while that rollback still waits, since it would undo the run;
// -allow-risky pending-rollback lets it go ahead.
func TestPendingRollbackFromAKilledRun(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "file" "sshd_grace" {
  path   = "/etc/ssh/sshd_config.d/20-grace.conf"
  content = "LoginGraceTime 90\n"
  notify = ["slow"]
}
handler "slow" {
  command = "sleep 60"
}
`)
	cmd := exec.Command(hakoBin, "apply", "-confirm", "120s", dir)
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "changed  file.sshd_grace"); {
		if time.Now().After(deadline) {
			t.Fatalf("hako did not get to the change:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	r := hako(t, "apply", dir)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "an earlier run's rollback fires in ", "check pending-rollback")
	mustContain(t, hako(t, "apply", "-allow-risky", "pending-rollback", dir), "overridden by -allow-risky pending-rollback", "pi  ok=1 changed=0")

	// The refusal's way out for changes nobody checked: `rollback now`,
	// as it reads there, restores the host as it was before the killed run
	// and ends that guard; the plan is then refused no more.
	now := regexp.MustCompile(`restore: (sudo sh /var/lib/hako/guard/[0-9T]+-[0-9a-f]+/rollback now);`).FindStringSubmatch(r.stdout + r.stderr)
	if now == nil {
		t.Fatalf("no rollback now in:\n%s", r)
	}
	if out, code := h.SSH(t, now[1]); code != 0 {
		t.Fatalf("%s: exit %d: %s", now[1], code, out)
	}
	if got := h.Exec(t, "ls /etc/ssh/sshd_config.d/20-grace.conf 2>&1 || true"); !strings.Contains(got, "No such file") {
		t.Errorf("rollback now left the killed run's file: %s", got)
	}
	p := hako(t, "plan", dir)
	mustContain(t, p, "+ file.sshd_grace")
	if p.code != 0 || strings.Contains(p.stdout+p.stderr, "pending-rollback") {
		t.Errorf("still refused after rollback now:\n%s", p)
	}
}

// A user task's sudo rule is sudo configuration, which -confirm guards:
// here the rule that is the login user's only way to root goes (the
// operator overrode the login-user-sudo refusal), so hako cannot confirm
// over a new connection with become, nor roll back through the session it
// holds (its commands go through the same sudo): the host's timer restores
// the rule by itself, and pi is root again.
func TestConfirmGuardsAUsersSudoRule(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, "mv /etc/sudoers.d/010_pi-nopasswd /etc/sudoers.d/hako-pi")
	dir := planFor(t, h, `
task "user" "pi" {
  name = "pi"
  sudo = "none"
}
`)
	r := hako(t, "apply", "-confirm", "20s", "-allow-risky", "login-user-sudo", dir)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "guarded change", "the host rolls back by itself when the timer ends")
	deadline := time.Now().Add(3 * time.Minute)
	for h.Exec(t, "ls /var/lib/hako/guard/*/rolledback 2>/dev/null | wc -l") != "1\n" {
		if time.Now().After(deadline) {
			t.Fatalf("the host did not roll back:\n%s\n%s", r, h.Exec(t, "cat /var/lib/hako/guard/*/log 2>&1; ls -l /etc/sudoers.d"))
		}
		time.Sleep(time.Second)
	}
	if out, code := h.SSH(t, "sudo -n id -un"); code != 0 || out != "root\n" {
		t.Errorf("pi after the rollback: exit %d, %q\n%s", code, out, h.Exec(t, "cat /var/lib/hako/guard/*/log 2>&1"))
	}
}
