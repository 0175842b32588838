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
	mustContain(t, r, "warning: overridden by -allow-risky sshd-login-user: file.allow would lock hako out", "changed  file.allow",
		// The confirmation's look at the sshd on disk honours it too.
		"warning: overridden by -allow-risky sshd-login-user: sshd's configuration on disk would refuse the next login of pi once sshd restarts: allowusers someoneelse (leaves out pi)",
		"confirmed over a new connection; the rollback is disarmed")
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

// sshd-login-user judges as sshd does: for each configuration a drop-in
// could hold, hako plan's verdict (refused by sshd-login-user or not) is
// what the host's sshd does with a key login as pi once it reads that
// drop-in. {addr} is the address the host sees the test connect from,
// {net} its /16, {group} a supplementary group of pi.
func TestSSHDLoginUserAgreesWithSSHD(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	conn, code := h.SSH(t, "echo $SSH_CONNECTION")
	f := strings.Fields(conn)
	if code != 0 || len(f) != 4 {
		t.Fatalf("SSH_CONNECTION: %q (exit %d)", conn, code)
	}
	addr, laddr := f[0], f[2]
	octets := strings.Split(addr, ".")
	net := octets[0] + "." + octets[1] + ".0.0/16"
	groups := strings.Fields(h.Exec(t, "id -Gn pi"))
	if len(groups) < 2 {
		t.Fatalf("pi's groups: %v", groups)
	}
	group := groups[1]
	t.Logf("pi from %s to %s:22, groups %v", addr, laddr, groups)
	const dropIn = "/etc/ssh/sshd_config.d/50-login.conf"
	expand := strings.NewReplacer("{addr}", addr, "{net}", net, "{group}", group, "{laddr}", laddr)
	cases, refused := 0, 0
	for _, c := range []string{
		"AllowUsers someoneelse",
		"AllowUsers pi",
		"AllowUsers p?",
		"AllowUsers someoneelse,pi",
		"AllowUsers pi@{addr}",
		"AllowUsers pi@{net}",
		"AllowUsers pi@192.0.2.0/24",
		"AllowUsers pi@!{addr},{net}",
		"DenyUsers p*",
		"DenyUsers pi@192.0.2.0/24",
		"AllowGroups {group}",
		"AllowGroups pi",
		"AllowGroups nosuchgroup",
		"DenyGroups {group}",
		"PubkeyAuthentication no",
		"PubkeyAuthentication yes\nPubkeyAuthentication no",
		"AuthenticationMethods publickey,password",
		"AuthenticationMethods publickey,password publickey",
		"AuthenticationMethods any",
		"Match User pi\n  PubkeyAuthentication no",
		"Match User *,!pi\n  PubkeyAuthentication no",
		"Match Group {group}\n  AllowUsers someoneelse",
		"Match Group *,!{group}\n  AllowUsers someoneelse",
		"Match Address {net}\n  DenyUsers pi",
		"Match Address *,!{addr}\n  DenyUsers pi",
		"Match Host {addr}\n  DenyUsers pi",
		"Match LocalAddress {laddr}\n  DenyUsers pi",
		"Match LocalPort 22\n  AuthenticationMethods password",
		"Match LocalPort 2222\n  AuthenticationMethods password",
		"Match User pi Address 192.0.2.0/24\n  DenyUsers pi",
		"AllowUsers someoneelse\nMatch User pi\n  AllowUsers pi",
		"AllowUsers pi\nMatch Address {net}\n  AllowUsers someoneelse",
		"PubkeyAuthentication no\nMatch all\n  PubkeyAuthentication yes",
	} {
		content := expand.Replace(c) + "\n"
		cases++
		name := strings.ReplaceAll(c, "\n", " / ")
		dir := planFor(t, h, fmt.Sprintf("task \"file\" \"login\" {\n  path    = %q\n  content = %q\n}\n", dropIn, content))
		plan := hako(t, "plan", dir)
		var hakoSays bool
		switch {
		case plan.code == 1 && strings.Contains(plan.stdout+plan.stderr, "(check sshd-login-user;"):
			hakoSays = true
		case plan.code != 0 && plan.code != 2 || strings.Contains(plan.stdout, "refused"):
			t.Fatalf("%s: plan: exit %d\n%s", name, plan.code, plan)
		}
		h.Exec(t, fmt.Sprintf("printf '%%s' %s >%s", shellQuote(content), dropIn))
		spec := fmt.Sprintf("user=pi,host=%s,addr=%s,laddr=%s,lport=22", addr, addr, laddr)
		t.Logf("%s: sshd -T -C %s:\n%s", name, spec, h.Exec(t, "sshd -T -C "+spec+
			" | grep -E '^(allowusers|denyusers|allowgroups|denygroups|pubkeyauthentication|authenticationmethods) ' || true"))
		in, why := loginAfterRestart(t, h)
		if hakoSays {
			refused++
		}
		if hakoSays == in {
			t.Errorf("%s: hako refused %v, but sshd let pi in %v (%s)", name, hakoSays, in, why)
		}
		h.Exec(t, "rm "+dropIn)
		if ok, why := loginAfterRestart(t, h); !ok {
			t.Fatalf("%s: pi cannot log in after the drop-in was removed: %s", name, why)
		}
	}
	t.Logf("%d configurations: hako refused %d, let %d through; sshd agreed on each", cases, refused, cases-refused)
	if refused == 0 || refused == cases {
		t.Errorf("the table proves nothing: %d of %d refused", refused, cases)
	}
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
