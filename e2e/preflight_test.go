package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// Preflight's lockout checks on real hosts: each refusal stops plan and apply
// (exit 1, naming the task and the check) before anything changes on the
// host; -allow-risky NAME lets a plan through with a warning; the distro
// drift warnings show in plan and apply without blocking.

// freshCardPlan writes a plan for a fresh card h: the host's own settings
// are alice on port 2222, which refuses the connection, so hako comes in
// through the bootstrap settings, pi on h's port, as on a freshly flashed
// card. body follows the host block.
func freshCardPlan(t *testing.T, h *testhost.Host, body string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), fmt.Sprintf(`
host "pi" {
  address       = %q
  port          = 2222
  user          = "alice"
  identity_file = %q
  known_hosts   = %q
  become        = true
  bootstrap {
    port = %d
    user = "pi"
  }
}
`, h.Addr, h.KeyFile, h.KnownHostsFile(t), h.Port)+body)
	return dir
}

// hostSnapshot is everything the refused plans could touch, read as root
// inside the host.
func hostSnapshot(t *testing.T, h *testhost.Host) string {
	return h.Exec(t, `ls -l --time-style=+%s.%N /etc/ssh/sshd_config.d/ /etc/sudoers.d/ /etc/motd 2>&1
sha256sum /etc/ssh/sshd_config /etc/motd /etc/passwd /etc/group 2>&1
getent passwd alice || echo no alice
ufw status verbose; grep -h '^### tuple' /etc/ufw/user.rules /etc/ufw/user6.rules || true`)
}

// refusedEverywhere runs plan and apply on dir: both exit 1 and print
// every string of want; the host is as it was, and pi still logs in.
func refusedEverywhere(t *testing.T, h *testhost.Host, dir string, task, check string, want ...string) (plan, apply result) {
	t.Helper()
	before := hostSnapshot(t, h)
	hint := fmt.Sprintf("(check %s; -allow-risky %s overrides it)", check, check)
	plan = hako(t, "plan", "-detailed-exitcode", dir)
	if plan.code != 1 {
		t.Errorf("plan: want exit 1\n%s", plan)
	}
	mustContain(t, plan, append([]string{"  error " + task + ": refused: " + task + " ", hint}, want...)...)
	apply = hako(t, "apply", dir)
	if apply.code != 1 {
		t.Errorf("apply: want exit 1\n%s", apply)
	}
	mustContain(t, apply, append([]string{"pi  note: the plan was refused; nothing was changed on this host",
		"pi  failed   " + task + ": refused: " + task + " ", hint}, want...)...)
	if strings.Contains(apply.stdout, "changed  ") || strings.Contains(apply.stdout, "moving SSH") {
		t.Errorf("a refused apply changed something:\n%s", apply)
	}
	if after := hostSnapshot(t, h); after != before {
		t.Errorf("a refused plan changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if out, code := h.SSH(t, "echo still in"); code != 0 || strings.TrimSpace(out) != "still in" {
		t.Errorf("SSH as pi after the refusal: exit %d, %q", code, out)
	}
	return plan, apply
}

// ufw-lockout: a firewall without the SSH port. -allow-risky lets plan
// show it, with a warning that says the check was overridden.
func TestLintUFWLockout(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "file" "motd" {
  path    = "/etc/motd"
  content = "hello\n"
}
task "ufw" "firewall" {
  rule { port = 80 }
}
`)
	_, apply := refusedEverywhere(t, h, dir, "ufw.firewall", "ufw-lockout",
		"would lock hako out of the host: no rule allows the SSH connection hako is using (tcp port 22 from 10.213.0.1)")
	mustContain(t, apply, "pi  skipped  file.motd", "pi  ok=0 changed=0 failed=1 skipped=1")

	before := hostSnapshot(t, h)
	plan := hako(t, "plan", "-allow-risky", "ufw-lockout", dir)
	if plan.code != 0 {
		t.Errorf("plan -allow-risky: want exit 0\n%s", plan)
	}
	mustContain(t, plan, "  warning: overridden by -allow-risky ufw-lockout: ufw.firewall would lock hako out of the host",
		"+ ufw.firewall  enable ufw", "Plan: 2 to change")
	if after := hostSnapshot(t, h); after != before {
		t.Errorf("plan changed the host:\n%s\n%s", before, after)
	}
}

// password-auth-without-key: a fresh card whose plan turns password
// logins off while alice, the user hako is to log in as next, has no key
// (here: no user task creates her at all).
func TestLintPasswordAuthWithoutKey(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := freshCardPlan(t, h, `
task "file" "motd" {
  path    = "/etc/motd"
  content = "hello\n"
}
task "file" "sshd" {
  path     = "/etc/ssh/sshd_config.d/10-hako.conf"
  content  = "Port 2222\nPermitRootLogin no\nPasswordAuthentication no\n"
  validate = "/usr/sbin/sshd -t -f %s"
}
`)
	plan, apply := refusedEverywhere(t, h, dir, "file.sshd", "password-auth-without-key",
		`file.sshd sets "PasswordAuthentication no", but hako's login user alice has no key (no such user on the host): nobody could log in. Give it a key in a user task`,
		"connecting with the bootstrap settings instead (pi@")
	for _, r := range []result{plan, apply} {
		mustContain(t, r, "warning: alice, the user hako logs in as (the host's user), does not exist on the host and no user task creates it")
	}
	mustContain(t, apply, "pi  ok=0 changed=0 failed=1 skipped=1")
}

// login-user-sudo: the admin user the plan creates for hako's next login
// gets no sudo.
func TestLintLoginUserSudo(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	pub := testhost.NewKeyPair(t, t.TempDir(), "alice@test").Public
	dir := freshCardPlan(t, h, fmt.Sprintf(`
task "user" "admin" {
  name            = "alice"
  groups          = ["adm"]
  authorized_keys = [%q]
  sudo            = "none"
}
`, pub))
	_, apply := refusedEverywhere(t, h, dir, "user.admin", "login-user-sudo",
		`user.admin leaves alice, the user hako logs in as (the host's user), without passwordless sudo (sudo = "none"): no /etc/sudoers.d/hako-alice and no other NOPASSWD sudoers rule names it or its groups`)
	mustContain(t, apply, "pi  ok=0 changed=0 failed=1 skipped=0")
}

// socket-activated-port: sshd as Ubuntu 22.10+ runs it, from ssh.socket
// (bookworm ships the unit; here it replaces ssh.service). A Port in
// sshd's config is refused; with -allow-risky it is written, and sshd
// still listens only where the socket says.
func TestLintSocketActivatedPort(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	h.Exec(t, "systemctl disable --now ssh.service 2>/dev/null && systemctl enable --now ssh.socket 2>/dev/null")
	if got := h.Exec(t, "systemctl is-enabled ssh.socket; systemctl is-active ssh.socket"); got != "enabled\nactive\n" {
		t.Fatalf("ssh.socket: %q", got)
	}
	dir := planFor(t, h, `
task "file" "port" {
  path     = "/etc/ssh/sshd_config.d/20-port.conf"
  content  = "Port 2222\n"
  validate = "/usr/sbin/sshd -t -f %s"
}
`)
	refusedEverywhere(t, h, dir, "file.port", "socket-activated-port",
		`file.port sets "Port 2222", but sshd is socket-activated on this host and ignores it: SSH would not move. Use an ssh.socket drop-in: ListenStream= then ListenStream=PORT`)

	apply := hako(t, "apply", "-allow-risky", "socket-activated-port", dir)
	if apply.code != 0 {
		t.Fatalf("apply -allow-risky: want exit 0\n%s", apply)
	}
	mustContain(t, apply, `pi  warning: overridden by -allow-risky socket-activated-port: file.port sets "Port 2222"`,
		"pi  changed  file.port: create /etc/ssh/sshd_config.d/20-port.conf", "pi  ok=0 changed=1 failed=0 skipped=0")
	h.Exec(t, "systemctl restart ssh.service")
	if got := listeningPorts(t, h); got != "22" {
		t.Errorf("with ssh.socket, sshd listens on %q, want 22 (the socket's)", got)
	}

	// Without a Port, plan only warns.
	plan := hako(t, "plan", planFor(t, h, ""))
	if plan.code != 0 {
		t.Errorf("plan: want exit 0\n%s", plan)
	}
	mustContain(t, plan, "  warning: sshd is socket-activated on this host (ssh.socket is enabled and active, listening on [::]:22): its port is ssh.socket's ListenStream; Port and ListenAddress in sshd_config do not apply (check ssh-socket)")
}

// The drift warnings: dhcpcd.conf managed while NetworkManager runs (a
// stand-in here: a unit running a process named NetworkManager, which is
// how hako tells that it runs) shows in plan and apply, which goes ahead.
func TestLintNetworkManagerWarning(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	h.Exec(t, `cp /bin/sleep /usr/local/sbin/NetworkManager
printf '[Service]\nExecStart=/usr/local/sbin/NetworkManager infinity\n' > /etc/systemd/system/NetworkManager.service
systemctl daemon-reload && systemctl start NetworkManager`)
	dir := planFor(t, h, `
task "file" "dhcpcd" {
  path    = "/etc/dhcpcd.conf"
  content = "interface eth0\nstatic ip_address=10.213.0.250/24\n"
}
`)
	const warning = "warning: file.dhcpcd writes /etc/dhcpcd.conf, but NetworkManager is running on this host: dhcpcd does not run the network, so the file does nothing; set the address with nmcli"
	plan := hako(t, "plan", dir)
	if plan.code != 0 {
		t.Errorf("plan: want exit 0\n%s", plan)
	}
	mustContain(t, plan, "  "+warning, "(check dhcpcd-networkmanager)", "~ file.dhcpcd  update /etc/dhcpcd.conf")
	apply := hako(t, "apply", dir)
	if apply.code != 0 {
		t.Errorf("apply: want exit 0\n%s", apply)
	}
	mustContain(t, apply, "pi  "+warning, "pi  changed  file.dhcpcd", "pi  ok=0 changed=1 failed=0 skipped=0")

	h.Exec(t, "systemctl stop NetworkManager")
	if r := hako(t, "plan", dir); strings.Contains(r.stdout, "warning:") {
		t.Errorf("a warning without NetworkManager:\n%s", r)
	}
}
