package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/pihome"
	"github.com/hako-dev/hako/internal/testhost"
)

const pppoePassword = pihome.PPPoEPassword

// piHome starts a systemd test host with sshd on the hardened port and a
// local apt repository, and returns it with the example's arguments.
func piHome(t *testing.T) (*testhost.Host, func(args ...string) result) {
	t.Helper()
	h, varFile := pihome.Start(t)
	run := func(args ...string) result {
		return hako(t, append(args, repoPath("examples/pi-home-server"), "-var-file", varFile)...)
	}
	return h, run
}

func noPassword(t *testing.T, rs ...result) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(r.stdout+r.stderr, pppoePassword) {
			t.Errorf("the PPPoE password appears in the output:\n%s", r)
		}
	}
}

// seedUFW is `ufw status verbose` of the home server's firewall (SSH, 80
// and 443 open, VNC from the LAN), with the test's SSH port.
const seedUFW = `Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
2222                       ALLOW IN    Anywhere                   # ssh
5900                       ALLOW IN    192.168.0.0/24             # vnc from the LAN only
80                         ALLOW IN    Anywhere                   # http
443                        ALLOW IN    Anywhere                   # https
2222 (v6)                  ALLOW IN    Anywhere (v6)              # ssh
80 (v6)                    ALLOW IN    Anywhere (v6)              # http
443 (v6)                   ALLOW IN    Anywhere (v6)              # https

`

func TestPiHomeServer(t *testing.T) {
	h, run := piHome(t)

	apply := run("apply")
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	mustContain(t, apply, "changed  package.base", "changed  ufw.firewall", "changed  handler restart_ssh", "failed=0")

	wantFiles := map[string]string{
		"/etc/dhcpcd.conf": "644 root root",
		"/etc/ssh/sshd_config.d/10-hako-hardening.conf": "644 root root",
		"/etc/ppp/peers/dsl-provider":                   "640 root dip",
		"/etc/ppp/chap-secrets":                         "600 root root",
		"/etc/ppp/pap-secrets":                          "600 root root",
		"/etc/network/interfaces.d/dsl-provider":        "644 root root",
		"/etc/ppp/ip-up.d/10dsl-provider":               "755 root root",
		"/etc/ppp/ip-down.d/10dsl-provider":             "755 root root",
	}
	for p, want := range wantFiles {
		if got := strings.TrimSpace(h.Exec(t, "stat -c '%a %U %G' "+p)); got != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
	}
	checks := map[string]string{
		"grep -c 'static ip_address=192.168.0.64/24' /etc/dhcpcd.conf":                                               "1",
		`grep -c '^"user@isp.example"	\*	"` + pppoePassword + `"$' /etc/ppp/chap-secrets`:                            "1",
		"cmp /etc/ppp/chap-secrets /etc/ppp/pap-secrets && echo same":                                                "same",
		"grep -c -e '^nic-eth1$' -e '^persist$' -e '^noipdefault$' /etc/ppp/peers/dsl-provider":                      "3",
		"grep -c -e '^defaultroute' -e '^replacedefaultroute' /etc/ppp/peers/dsl-provider || true":                   "0",
		"dpkg-query -W -f='${db:Status-Status}' ufw ppp pppoe hako-demo-pkg":                                         "installedinstalledinstalledinstalled",
		"sshd -T | grep -E '^(port|passwordauthentication|kbdinteractiveauthentication|permitrootlogin) ' | sort -u": "kbdinteractiveauthentication no\npasswordauthentication no\npermitrootlogin no\nport 2222",
		"systemctl is-active ssh": "active",
	}
	for cmd, want := range checks {
		if got := strings.TrimSpace(h.Exec(t, cmd)); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", cmd, got, want)
		}
	}
	if got := h.Exec(t, "ufw status verbose"); got != seedUFW {
		t.Errorf("ufw status verbose:\n%s\nwant:\n%s", got, seedUFW)
	}
	if out, code := h.SSH(t, "echo still in"); code != 0 || strings.TrimSpace(out) != "still in" {
		t.Fatalf("SSH after hardening: %d %q", code, out)
	}

	again := run("apply")
	mustContain(t, again, "\npi  ok=11 changed=0 failed=0 skipped=0\n")
	final := run("plan", "-detailed-exitcode")
	if final.code != 0 {
		t.Errorf("plan after apply must exit 0:\n%s", final)
	}
	noPassword(t, apply, again, final)
}

// The ip-up.d script, run as pppd would on every reconnect, leaves one
// rule and one route; ip-down.d removes them.
func TestPolicyRoutingScripts(t *testing.T) {
	h, run := piHome(t)
	if r := run("apply"); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	h.AddPPPStandIn(t)
	// Addresses only inside the host's own namespace; nothing is sent.
	h.Exec(t, "ip addr add 100.64.0.2 peer 100.64.0.1 dev ppp0")
	env := "PPP_IFACE=ppp0 PPP_TTY= PPP_SPEED=0 PPP_LOCAL=100.64.0.2 PPP_REMOTE=100.64.0.1 PPP_IPPARAM=dsl-provider"
	for range 3 {
		h.Exec(t, env+" /etc/ppp/ip-up.d/10dsl-provider ppp0 '' 0 100.64.0.2 100.64.0.1 dsl-provider")
	}
	rules := h.Exec(t, "ip rule show table 200")
	routes := h.Exec(t, "ip route show table 200")
	if strings.Count(rules, "\n") != 1 || !strings.Contains(rules, "200:\tfrom 100.64.0.2 lookup 200") {
		t.Errorf("rules after 3 reconnects:\n%s", rules)
	}
	if strings.Count(routes, "\n") != 1 || !strings.Contains(routes, "default via 100.64.0.1 dev ppp0") {
		t.Errorf("routes after 3 reconnects:\n%s", routes)
	}
	// A new session with another address replaces the rule.
	h.Exec(t, strings.ReplaceAll(env, "100.64.0.2", "100.64.0.3")+" /etc/ppp/ip-up.d/10dsl-provider")
	if rules := h.Exec(t, "ip rule show table 200"); strings.Count(rules, "\n") != 1 || !strings.Contains(rules, "100.64.0.3") {
		t.Errorf("rules after a new address:\n%s", rules)
	}
	h.Exec(t, env+" /etc/ppp/ip-down.d/10dsl-provider ppp0 '' 0 100.64.0.2 100.64.0.1 dsl-provider")
	if rules, routes := h.Exec(t, "ip rule show table 200"), h.Exec(t, "ip route show table 200"); rules != "" || routes != "" {
		t.Errorf("after ip-down: rules %q routes %q", rules, routes)
	}
}

// Drift made by hand (an extra ufw rule, a changed mode, a removed
// package) shows in plan as exactly that, and apply repairs it.
func TestPiHomeServerDrift(t *testing.T) {
	h, run := piHome(t)
	if r := run("apply"); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	h.Exec(t, "ufw allow 8080 >/dev/null; chmod 0644 /etc/ppp/chap-secrets; dpkg -r hako-demo-pkg >/dev/null")
	plan := run("plan", "-detailed-exitcode")
	if plan.code != 2 {
		t.Fatalf("plan with drift must exit 2:\n%s", plan)
	}
	mustContain(t, plan, "+ package.base", "hako-demo-pkg: absent → present", "~ ufw.firewall", "8080",
		"~ file.chap_secrets", "mode: 0644 → 0600", "Plan: 3 to change, 8 unchanged.")
	if strings.Contains(plan.stdout, "(sensitive content") {
		t.Errorf("only the mode drifted, yet content is shown as changed:\n%s", plan)
	}
	apply := run("apply")
	mustContain(t, apply, "\npi  ok=8 changed=3 failed=0 skipped=0\n")
	if r := run("plan", "-detailed-exitcode"); r.code != 0 {
		t.Errorf("plan after repair must exit 0:\n%s", r)
	}
	if strings.Contains(h.Exec(t, "ufw status"), "8080") {
		t.Error("the extra rule is still there")
	}
	noPassword(t, plan, apply)
}

// A plan whose firewall would cut the SSH connection is refused before
// any task, even an earlier and harmless one, changes anything.
func TestLockoutRefusedBeforeAnything(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "file" "motd" {
  path    = "/etc/motd"
  content = "hello\n"
}
task "ufw" "firewall" {
  rule {
    port = 80
  }
  rule {
    port = 443
  }
}
`)
	before := h.Exec(t, "sha256sum /etc/motd; ufw status verbose")
	for _, cmd := range []string{"plan", "apply"} {
		r := hako(t, cmd, dir)
		if r.code != 1 {
			t.Fatalf("%s: want exit 1\n%s", cmd, r)
		}
		mustContain(t, r, "ufw.firewall", "lock hako out", "tcp port 22")
	}
	if after := h.Exec(t, "sha256sum /etc/motd; ufw status verbose"); after != before {
		t.Errorf("the host changed:\n%s\nthen:\n%s", before, after)
	}
	if out, code := h.SSH(t, "true"); code != 0 {
		t.Errorf("SSH: %d %s", code, out)
	}
}

// The PPPoE session task, with stand-ins for pon, poff and pppd (this
// kernel has no PPP): pon starts a detached "pppd call PROVIDER" that
// makes ppp0 and, like pppd with persist, stays when the line drops; poff
// ends it. Connect when no pppd runs, poff then pon after a secrets
// change, nothing when up to date or when only the line dropped.
func TestPPPoESessionNeverTwice(t *testing.T) {
	h, _ := piHome(t)
	h.Exec(t, `cat > /usr/local/sbin/pppd <<'EOF'
#!/bin/sh
trap 'ip link del ppp0 2>/dev/null; exit 0' TERM
ip link add ppp0 type veth peer name ppp0-peer && ip link set ppp0 up
while :; do sleep 1; done
EOF
cat > /usr/local/sbin/pon <<'EOF'
#!/bin/sh
if pgrep -f "pppd call $1( |\$)" >/dev/null; then echo "pon while up" >> /run/ppp.log; exit 1; fi
echo "pon $1" >> /run/ppp.log
setsid /usr/local/sbin/pppd call "$1" </dev/null >/dev/null 2>&1 &
EOF
cat > /usr/local/sbin/poff <<'EOF'
#!/bin/sh
echo "poff $1" >> /run/ppp.log
pkill -TERM -f "pppd call $1( |\$)"
EOF
chmod 0755 /usr/local/sbin/pppd /usr/local/sbin/pon /usr/local/sbin/poff`)
	kh := h.KnownHostsFile(t)
	args := func(password string) []string {
		return []string{repoPath("examples/pi-home-server"), "-var", "address=" + h.Addr, "-var", "identity_file=" + h.KeyFile,
			"-var", "known_hosts=" + kh, "-var", fmt.Sprintf("ssh_port=%d", h.Port), "-var", "pppoe_user=user@isp.example",
			"-var", "pppoe_password=" + password, "-var", "pppoe_connect=true"}
	}
	log := func() string { return h.Exec(t, "cat /run/ppp.log 2>/dev/null || true") }
	pppds := func() string { return strings.TrimSpace(h.Exec(t, "pgrep -fc 'pppd call dsl-provider( |$)' || true")) }

	r := hako(t, append([]string{"apply"}, args(pppoePassword)...)...)
	mustContain(t, r, "changed  command.pppoe_session", "failed=0")
	if got := log(); got != "pon dsl-provider\n" || pppds() != "1" {
		t.Fatalf("first apply: %q, %s pppd\n%s", got, pppds(), r)
	}
	mustContain(t, hako(t, append([]string{"apply"}, args(pppoePassword)...)...), "ok       command.pppoe_session", "changed=0")
	mustContain(t, hako(t, append([]string{"apply"}, args(pppoePassword+"-new")...)...),
		"changed  file.chap_secrets", "changed  command.pppoe_session", "failed=0")
	if got := log(); got != "pon dsl-provider\npoff dsl-provider\npon dsl-provider\n" || pppds() != "1" {
		t.Errorf("after a secrets change: %q, %s pppd", got, pppds())
	}

	// The line drops: ppp0 goes, pppd stays and will redial. No second pon.
	h.Exec(t, "ip link del ppp0")
	mustContain(t, hako(t, append([]string{"apply"}, args(pppoePassword+"-new")...)...), "ok       command.pppoe_session", "changed=0")

	// pppd itself is gone: one pon.
	h.Exec(t, "pkill -KILL -f 'pppd call dsl-provider( |$)'; sleep 0.2")
	mustContain(t, hako(t, append([]string{"apply"}, args(pppoePassword+"-new")...)...), "changed  command.pppoe_session", "changed=1")
	if got := log(); strings.Count(got, "pon dsl-provider") != 3 || strings.Count(got, "poff") != 1 || strings.Contains(got, "while up") || pppds() != "1" {
		t.Errorf("after pppd died: %q, %s pppd", got, pppds())
	}
}
