package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// pppoeFiles lists the files of the dhcpcd path's PPPoE setup with their
// checksums (the test image has some of them, as a card may).
const pppoeFiles = "cd /etc && ls -l --time-style=+ ppp/peers ppp/chap-secrets ppp/pap-secrets network/interfaces.d ppp/ip-up.d ppp/ip-down.d 2>&1; " +
	"sha256sum ppp/peers/* ppp/chap-secrets ppp/pap-secrets network/interfaces.d/* ppp/ip-up.d/* ppp/ip-down.d/* 2>&1; true"

// packageLines are the lines of r's output about package.base.
func packageLines(r result) string {
	var out []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "package.base") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Without pppoe_user and pppoe_password the example needs no password and
// sets up no PPPoE on an older card (dhcpcd path): no PPPoE package, file
// or session, the files of a PPPoE setup left as they were; a second
// apply changes nothing.
func TestPiHomeServerWithoutPPPoE(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: "systemd", SSHPort: 2222})
	h.LocalAptRepo(t, "hako-demo-pkg")
	varFile := filepath.Join(t.TempDir(), "test.hcl")
	writeFile(t, varFile, fmt.Sprintf(`address        = %q
identity_file  = %q
known_hosts    = %q
ssh_port       = %d
extra_packages = ["hako-demo-pkg"]
`, h.Addr, h.KeyFile, h.KnownHostsFile(t), h.Port))
	run := func(args ...string) result {
		return hako(t, append(args, repoPath("examples/pi-home-server"), "-var-file", varFile)...)
	}
	before := h.Exec(t, pppoeFiles)
	plan := run("plan")
	if plan.code != 0 {
		t.Fatalf("plan:\n%s", plan)
	}
	if got := packageLines(plan); !strings.Contains(got, "hako-demo-pkg") || strings.Contains(got, "ppp") {
		t.Errorf("package.base in plan:\n%s", got)
	}
	apply := run("apply")
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	mustContain(t, apply, "changed  package.base", "changed  file.dhcpcd", "changed  ufw.firewall", "changed  file.sshd_hardening", "failed=0")
	for _, r := range []result{plan, apply} {
		for _, s := range []string{"file.ppp_peer", "file.chap_secrets", "file.pap_secrets", "directory.interfaces_d", "file.interfaces_pppoe", "file.policy_routing", "command.pppoe_session"} {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("a run without PPPoE variables has %s:\n%s", s, r)
			}
		}
	}
	if after := h.Exec(t, pppoeFiles); after != before {
		t.Errorf("the PPPoE files changed:\n%s\nwere:\n%s", after, before)
	}
	if got := strings.TrimSpace(h.Exec(t, "grep -c 'static ip_address=192.168.0.64/24' /etc/dhcpcd.conf")); got != "1" {
		t.Errorf("dhcpcd.conf has the static address %s times", got)
	}
	mustContain(t, run("apply"), "\npi  ok=4 changed=0 failed=0 skipped=0\n")
}
