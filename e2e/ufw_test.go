package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// ufwPlan writes a plan for h with one ufw task whose body is rules and
// returns its directory.
func ufwPlan(t *testing.T, h *testhost.Host, rules string) string {
	t.Helper()
	return planFor(t, h, fmt.Sprintf(`
task "ufw" "firewall" {
  default_incoming = "deny"
  default_outgoing = "allow"
  ipv6             = true
  exclusive        = true
%s
}
`, rules))
}

// seedFirewall is the home server's firewall (SSH, 80 and 443 from
// anywhere, VNC 5900 from the LAN) with the test host's SSH port.
func seedFirewall(port int) string {
	return fmt.Sprintf(`
  rule {
    port    = %d
    proto   = "tcp"
    comment = "ssh"
  }
  rule { port = 80 }
  rule { port = 443 }
  rule {
    port = 5900
    from = "192.168.0.0/24"
  }
`, port)
}

// ufwState is everything the ufw task manages, read inside the host.
func ufwState(t *testing.T, h *testhost.Host) string {
	return h.Exec(t, "ufw status verbose; grep -h '^### tuple' /etc/ufw/user.rules /etc/ufw/user6.rules || true; grep -E '^(IPV6|DEFAULT_)' /etc/default/ufw")
}

// The home server's firewall: applied, it filters for real, for IPv4 and IPv6,
// SSH keeps working, a second run changes nothing, hand-made drift is
// shown as exactly that and removed.
func TestUFWFirewall(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := ufwPlan(t, h, seedFirewall(h.Port))
	// Something to connect to behind the firewall: one port it allows, one it does not.
	h.Exec(t, "for p in 80 8081; do setsid python3 -m http.server --bind :: $p >/dev/null 2>&1 </dev/null & done")
	// The servers take their time to listen on a loaded machine: wait until
	// both ports answer inside the host (up to a minute), not a fixed delay.
	h.Exec(t, "for i in $(seq 600); do ss -Hltn 'sport = :80' | grep -q . && ss -Hltn 'sport = :8081' | grep -q . && exit 0; sleep 0.1; done; exit 1")
	for _, addr := range []string{h.Addr, h.Addr6} {
		for _, port := range []int{80, 8081} {
			if err := tcpConnect(addr, port); err != nil {
				t.Fatalf("before the firewall, %s port %d: %v", addr, port, err)
			}
		}
	}

	plan := hako(t, "plan", dir)
	if plan.code != 0 {
		t.Fatalf("plan:\n%s", plan)
	}
	mustContain(t, plan, "+ ufw.firewall  enable ufw: 4 rules, default deny incoming, allow outgoing",
		"status: inactive → active",
		fmt.Sprintf("rule: (none) → allow %d/tcp from any (ssh)", h.Port),
		"rule: (none) → allow 80 from any",
		"rule: (none) → allow 443 from any",
		"rule: (none) → allow 5900 from 192.168.0.0/24",
		"Plan: 1 to change, 0 unchanged.")

	apply := hako(t, "apply", dir)
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	mustContain(t, apply, "changed  ufw.firewall", "\npi  ok=0 changed=1 failed=0 skipped=0\n")

	port := strconv.Itoa(h.Port)
	want := `Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), disabled (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
` + fmt.Sprintf("%-27s", port+"/tcp") + `ALLOW IN    Anywhere                   # ssh
80                         ALLOW IN    Anywhere                  
443                        ALLOW IN    Anywhere                  
5900                       ALLOW IN    192.168.0.0/24            
` + fmt.Sprintf("%-27s", port+"/tcp (v6)") + `ALLOW IN    Anywhere (v6)              # ssh
80 (v6)                    ALLOW IN    Anywhere (v6)             
443 (v6)                   ALLOW IN    Anywhere (v6)             

`
	if got := h.Exec(t, "ufw status verbose"); got != want {
		t.Errorf("ufw status verbose:\n%s\nwant:\n%s", got, want)
	}
	if got := h.Exec(t, "grep -h '^IPV6=' /etc/default/ufw"); got != "IPV6=yes\n" {
		t.Errorf("/etc/default/ufw: %q", got)
	}
	// It really filters: 80 is allowed, 8081 is not, over IPv4 and IPv6.
	for _, addr := range []string{h.Addr, h.Addr6} {
		if err := tcpConnect(addr, 80); err != nil {
			t.Errorf("%s port 80 (allowed): %v", addr, err)
		}
		if err := tcpConnect(addr, 8081); err == nil {
			t.Errorf("%s port 8081 (not allowed) accepted a connection", addr)
		}
	}
	if out, code := h.SSH(t, "echo still in"); code != 0 || strings.TrimSpace(out) != "still in" {
		t.Fatalf("SSH after enabling the firewall: exit %d, %q", code, out)
	}

	again := hako(t, "apply", dir)
	mustContain(t, again, "\npi  ok=1 changed=0 failed=0 skipped=0\n")
	if r := hako(t, "plan", "-detailed-exitcode", dir); r.code != 0 {
		t.Errorf("plan -detailed-exitcode after apply: want exit 0\n%s", r)
	}

	// Drift by hand: exactly that rule, to delete.
	h.Exec(t, "ufw allow 8080 >/dev/null")
	drift := hako(t, "plan", "-detailed-exitcode", dir)
	if drift.code != 2 {
		t.Errorf("plan after drift: want exit 2\n%s", drift)
	}
	mustContain(t, drift, "~ ufw.firewall  update ufw: delete 1 rule", "rule: allow 8080 from any →", "Plan: 1 to change, 0 unchanged.")
	if n := strings.Count(drift.stdout, "rule:"); n != 1 {
		t.Errorf("%d rule lines, want 1:\n%s", n, drift)
	}
	fix := hako(t, "apply", dir)
	mustContain(t, fix, "changed  ufw.firewall", "\npi  ok=0 changed=1 failed=0 skipped=0\n")
	if got := h.Exec(t, "ufw status verbose"); got != want {
		t.Errorf("ufw status verbose after repair:\n%s\nwant:\n%s", got, want)
	}
	if r := hako(t, "plan", "-detailed-exitcode", dir); r.code != 0 {
		t.Errorf("plan -detailed-exitcode after repair: want exit 0\n%s", r)
	}

	// A deny for hako's own network declared before the SSH rule: refused,
	// naming the rule, and the running firewall is left alone.
	before := ufwState(t, h)
	locked := ufwPlan(t, h, fmt.Sprintf(`
  rule {
    port   = %d
    proto  = "tcp"
    from   = "10.213.0.0/24"
    action = "deny"
  }
`, h.Port)+seedFirewall(h.Port))
	r := hako(t, "plan", locked)
	if r.code != 1 {
		t.Errorf("plan with a deny for hako's network first: want exit 1\n%s", r)
	}
	mustContain(t, r, "error ufw.firewall: refused: ufw.firewall would lock hako out of the host: its rule 1 (",
		fmt.Sprintf(`"deny %d/tcp from 10.213.0.0/24", is the first rule that matches the SSH connection hako is using (tcp port %d from 10.213.0.1) and denies it`, h.Port, h.Port))
	r = hako(t, "apply", locked)
	if r.code != 1 {
		t.Errorf("apply with a deny for hako's network first: want exit 1\n%s", r)
	}
	mustContain(t, r, "the plan was refused; nothing was changed on this host", "failed   ufw.firewall: refused:")
	if after := ufwState(t, h); after != before {
		t.Errorf("a refused apply changed the firewall:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if out, code := h.SSH(t, "echo still in"); code != 0 || strings.TrimSpace(out) != "still in" {
		t.Errorf("SSH after the refusals: exit %d, %q", code, out)
	}
}

// A plan whose rules forget the SSH port is refused by plan and by apply,
// and a fresh card's ufw stays as it was: inactive.
func TestUFWLockoutIsRefused(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := ufwPlan(t, h, `
  rule { port = 80 }
  rule { port = 443 }
`)
	before := ufwState(t, h)
	if !strings.HasPrefix(before, "Status: inactive\n") {
		t.Fatalf("a fresh host's ufw:\n%s", before)
	}
	reason := fmt.Sprintf("refused: ufw.firewall would lock hako out of the host: no rule allows the SSH connection hako is using (tcp port %d from 10.213.0.1), and the default for incoming traffic is deny; add `rule { port = %d }`", h.Port, h.Port)

	plan := hako(t, "plan", "-detailed-exitcode", dir)
	if plan.code != 1 {
		t.Errorf("plan: want exit 1\n%s", plan)
	}
	mustContain(t, plan, "error ufw.firewall: "+reason)

	apply := hako(t, "apply", dir)
	if apply.code != 1 {
		t.Errorf("apply: want exit 1\n%s", apply)
	}
	mustContain(t, apply, "pi  note: the plan was refused; nothing was changed on this host",
		"pi  failed   ufw.firewall: "+reason, "\npi  ok=0 changed=0 failed=1 skipped=0\n")
	if after := ufwState(t, h); after != before {
		t.Errorf("a refused plan changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if out, code := h.SSH(t, "echo still in"); code != 0 || strings.TrimSpace(out) != "still in" {
		t.Errorf("SSH: exit %d, %q", code, out)
	}
}

// ufwTuples are the rules of one of ufw's lists as it stores them.
func ufwTuples(t *testing.T, h *testhost.Host, file string) string {
	return h.Exec(t, "grep -h '^### tuple' /etc/ufw/"+file+" | sed 's/^### tuple ### //' || true")
}

// What ufw really does with hako's commands on a host it did not set up:
// an application rule with two lines (CIFS) before the spot a new rule is
// inserted, a hand-made copy of the SSH rule without its comment, and a
// port list ufw sorts its own way. The firewall ends up as planned, SSH
// stays open, and a second run has nothing to do.
func TestUFWWhatUFWReallyDoes(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	port := h.Port
	h.Exec(t, fmt.Sprintf("ufw allow CIFS >/dev/null && ufw allow %d/tcp comment ssh >/dev/null && ufw --force enable >/dev/null", port))

	// Not exclusive: CIFS stays, and the deny goes right before the SSH
	// rule, a position `ufw insert` counts with CIFS as one rule.
	sshRule := fmt.Sprintf(`
  rule {
    port    = %d
    proto   = "tcp"
    comment = "ssh"
  }`, port)
	deny := `
  rule {
    port   = 8081
    proto  = "tcp"
    action = "deny"
  }`
	dir := planFor(t, h, `task "ufw" "firewall" {`+deny+sshRule+"\n}\n")
	if r := hako(t, "apply", dir); r.code != 0 {
		t.Fatalf("apply with CIFS on the host:\n%s", r)
	}
	ssh4 := fmt.Sprintf("allow tcp %d 0.0.0.0/0 any 0.0.0.0/0 in comment=737368\n", port)
	ssh6 := fmt.Sprintf("allow tcp %d ::/0 any ::/0 in comment=737368\n", port)
	cifs4 := "allow udp 137,138 0.0.0.0/0 any 0.0.0.0/0 CIFS - in\nallow tcp 139,445 0.0.0.0/0 any 0.0.0.0/0 CIFS - in\n"
	cifs6 := strings.ReplaceAll(cifs4, "0.0.0.0/0", "::/0")
	if got, want := ufwTuples(t, h, "user.rules"), cifs4+"deny tcp 8081 0.0.0.0/0 any 0.0.0.0/0 in\n"+ssh4; got != want {
		t.Errorf("IPv4 rules:\n%s\nwant:\n%s", got, want)
	}
	if got, want := ufwTuples(t, h, "user6.rules"), cifs6+"deny tcp 8081 ::/0 any ::/0 in\n"+ssh6; got != want {
		t.Errorf("IPv6 rules:\n%s\nwant:\n%s", got, want)
	}

	// A copy of the SSH rule without its comment, first in both lists, as
	// a hand edit leaves it. `ufw delete allow PORT/tcp` would delete the
	// declared rule with it; exclusive must delete the copy and CIFS only.
	for file, any := range map[string]string{"user.rules": "0.0.0.0/0", "user6.rules": "::/0"} {
		h.Exec(t, fmt.Sprintf("sed -i 's|^### RULES ###$|&\\n\\n### tuple ### allow tcp %d %s any %s in|' /etc/ufw/%s", port, any, any, file))
	}
	h.Exec(t, "ufw reload >/dev/null")
	if got := ufwTuples(t, h, "user.rules"); !strings.HasPrefix(got, fmt.Sprintf("allow tcp %d 0.0.0.0/0 any 0.0.0.0/0 in\n", port)) {
		t.Fatalf("the hand-made copy is not first:\n%s", got)
	}
	dir = ufwPlan(t, h, deny+sshRule+`
  rule {
    port  = "80:90,80"
    proto = "tcp"
  }`)
	plan := hako(t, "plan", dir)
	mustContain(t, plan, fmt.Sprintf("rule: allow %d/tcp from any → (none)", port), "rule: allow CIFS → (none)",
		"rule: (none) → allow 80,80:90/tcp from any")
	if r := hako(t, "apply", dir); r.code != 0 {
		t.Fatalf("apply, exclusive:\n%s", r)
	}
	list := "allow tcp 80,80:90 0.0.0.0/0 any 0.0.0.0/0 in\n"
	if got, want := ufwTuples(t, h, "user.rules"), "deny tcp 8081 0.0.0.0/0 any 0.0.0.0/0 in\n"+ssh4+list; got != want {
		t.Errorf("IPv4 rules:\n%s\nwant:\n%s", got, want)
	}
	if got, want := ufwTuples(t, h, "user6.rules"), "deny tcp 8081 ::/0 any ::/0 in\n"+ssh6+strings.ReplaceAll(list, "0.0.0.0/0", "::/0"); got != want {
		t.Errorf("IPv6 rules:\n%s\nwant:\n%s", got, want)
	}
	if out, code := h.SSH(t, "echo still in"); code != 0 || strings.TrimSpace(out) != "still in" {
		t.Fatalf("a new SSH connection after apply: exit %d, %q", code, out)
	}
	if r := hako(t, "plan", "-detailed-exitcode", dir); r.code != 0 {
		t.Errorf("plan -detailed-exitcode after apply: want exit 0\n%s", r)
	}
}

// tcpConnect opens and closes a TCP connection to a test host, waiting
// long enough for a firewall that drops packets to be told apart.
func tcpConnect(addr string, port int) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}
