package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// nmCard starts an nm host as Raspberry Pi Imager leaves a bookworm card
// (NetworkManager owns eth0 through the connection "preconfigured", the
// person's user ada, SSH on 22) and returns it with the example's
// arguments: hardened port 2222, ada the admin user, the example's
// default static address (192.168.0.64/24 through 192.168.0.1), which is
// not the lab's: it must only be saved, never brought up under the test.
func nmCard(t *testing.T) (*testhost.Host, func(extra ...string) []string) {
	t.Helper()
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	kh := h.KnownHostsFile(t)
	args := func(extra ...string) []string {
		return append([]string{repoPath("examples/pi-home-server"),
			"-var", "address=" + h.Addr, "-var", "identity_file=" + h.KeyFile, "-var", "known_hosts=" + kh,
			"-var", "ssh_port=2222", "-var", "admin_user=" + testhost.NMUser,
			"-var", "pppoe_connect=false"}, extra...)
	}
	return h, args
}

// olderCardFiles lists the files the example writes where dhcpcd and
// ifupdown own the network, with their checksums (the test image has some
// of them, as a Raspberry Pi OS card may).
const olderCardFiles = "cd /etc && ls -l --time-style=+ dhcpcd.conf ppp/peers ppp/chap-secrets ppp/pap-secrets network/interfaces.d ppp/ip-up.d ppp/ip-down.d 2>&1; " +
	"sha256sum dhcpcd.conf ppp/peers/* ppp/chap-secrets ppp/pap-secrets network/interfaces.d/* ppp/ip-up.d/* ppp/ip-down.d/* 2>&1; true"

// The example on a card where NetworkManager owns the network: the static
// address is saved on preconfigured (not brought up: eth0 keeps the
// address hako is connected to), PPPoE is a NetworkManager connection
// whose password no output shows, the dispatcher script does the policy
// routing, none of the dhcpcd/ifupdown files is written, SSH moves to
// 2222, and a second apply changes nothing.
func TestPiHomeServerNetworkManager(t *testing.T) {
	h, args := nmCard(t)
	withPPPoE := func(extra ...string) []string {
		return args(append([]string{"-var", "pppoe_user=user@isp.example", "-var", "pppoe_password=" + pppoePassword}, extra...)...)
	}
	// Without PPPoE variables: no PPPoE connection, no dispatcher script,
	// no password asked for.
	bare := hako(t, append([]string{"plan"}, args()...)...)
	if bare.code != 0 {
		t.Fatalf("plan without PPPoE variables:\n%s", bare)
	}
	mustContain(t, bare, "nm_connection.lan  update connection preconfigured (ethernet)")
	for _, s := range []string{"nm_connection.pppoe", "nm_policy_routing", "dsl-provider", "ppp"} {
		if strings.Contains(bare.stdout+bare.stderr, s) {
			t.Errorf("the plan without PPPoE variables has %q:\n%s", s, bare)
		}
	}

	plan := hako(t, append([]string{"plan"}, withPPPoE()...)...)
	if plan.code != 0 {
		t.Fatalf("plan:\n%s", plan)
	}
	mustContain(t, plan, "nm_connection.lan  update connection preconfigured (ethernet)",
		"+address1=192.168.0.64/24", "+ nm_connection.pppoe  create connection dsl-provider (pppoe)", "+password=(sensitive, changed)")
	for _, s := range []string{"file.dhcpcd", "file.ppp_peer", "file.chap_secrets", "command.pppoe_session", "dhcpcd-networkmanager", "brought up now"} {
		if strings.Contains(plan.stdout+plan.stderr, s) {
			t.Errorf("the plan for a NetworkManager card has %q:\n%s", s, plan)
		}
	}

	before := h.Exec(t, olderCardFiles)
	apply := hako(t, append([]string{"apply"}, withPPPoE()...)...)
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	t.Logf("apply:\n%s", apply.stdout)
	mustContain(t, apply, "port 2222 refused the connection; connecting with the bootstrap settings instead (ada@",
		"changed  nm_connection.lan", "changed  nm_connection.pppoe", "changed  file.nm_policy_routing",
		"confirmed: logged in on port 2222 as ada", "failed=0")

	const keyfiles = "/etc/NetworkManager/system-connections/"
	want := "ipv4.method:manual\nipv4.addresses:192.168.0.64/24\nipv4.gateway:192.168.0.1\nipv4.dns:192.168.0.1\n"
	if out := h.Exec(t, "nmcli -t -f ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.dns connection show preconfigured"); out != want {
		t.Errorf("nmcli connection show preconfigured:\n%s\nwant:\n%s", out, want)
	}
	// Saved, not applied: eth0 keeps the lab address the session uses.
	if out := h.Exec(t, "ip -4 -o addr show dev eth0 | awk '{ print $4 }'"); out != h.Addr+"/24\n" {
		t.Errorf("eth0's addresses (the static address must wait for the next boot):\n%s", out)
	}
	for _, f := range []string{"preconfigured", "dsl-provider"} {
		if out := h.Exec(t, "stat -c '%U %G %a' "+keyfiles+f+".nmconnection"); out != "root root 600\n" {
			t.Errorf("%s.nmconnection: %s", f, out)
		}
	}
	if out := h.Exec(t, "nmcli -t -f connection.type,connection.autoconnect,pppoe.parent,pppoe.username,pppoe.password connection show dsl-provider"); out != "connection.type:pppoe\nconnection.autoconnect:no\npppoe.parent:eth1\npppoe.username:user@isp.example\npppoe.password:<hidden>\n" {
		t.Errorf("nmcli connection show dsl-provider:\n%s", out)
	}
	if out := h.Exec(t, "nmcli -s -g pppoe.password connection show dsl-provider"); strings.TrimSpace(out) != pppoePassword {
		t.Error("NetworkManager holds another PPPoE password than the plan's")
	}
	if out := h.Exec(t, "journalctl --no-pager -o cat | grep -c -F -e '"+pppoePassword+"' || true"); out != "0\n" {
		t.Errorf("the journal holds the password %s times", strings.TrimSpace(out))
	}
	const script = "/etc/NetworkManager/dispatcher.d/90-hako-pppoe-dsl-provider"
	if out := h.Exec(t, "stat -c '%U %G %a' "+script); out != "root root 755\n" {
		t.Errorf("%s: %s", script, out)
	}
	if after := h.Exec(t, olderCardFiles); after != before {
		t.Errorf("the files of older cards changed on a NetworkManager card:\n%s\nwere:\n%s", after, before)
	}
	if got := listeningPorts(t, h); got != "2222" {
		t.Errorf("sshd listens on %q, want only 2222", got)
	}
	if out, code := sshOn(t, h, testhost.NMUser, 2222, "sudo -n id -u"); code != 0 || strings.TrimSpace(out) != "0" {
		t.Errorf("ada on 2222: %d %q", code, out)
	}

	// The dispatcher script as NetworkManager runs it on each "up" of the
	// PPPoE connection (no PPP in this kernel: a stand-in ppp0).
	h.AddPPPStandIn(t)
	h.Exec(t, "ip addr add 100.64.0.2 peer 100.64.0.1 dev ppp0")
	env := "CONNECTION_ID=dsl-provider DEVICE_IFACE=eth1 DEVICE_IP_IFACE=ppp0 IP4_NUM_ADDRESSES=1 IP4_ADDRESS_0='100.64.0.2/32 100.64.0.1' IP4_GATEWAY=100.64.0.1"
	for range 3 {
		h.Exec(t, env+" "+script+" ppp0 up")
	}
	if rules, routes := h.Exec(t, "ip rule show table 200"), h.Exec(t, "ip route show table 200"); rules != "200:\tfrom 100.64.0.2 lookup 200\n" || routes != "default dev ppp0 scope link \n" {
		t.Errorf("after three up events: rules %q routes %q", rules, routes)
	}

	again := hako(t, append([]string{"apply"}, withPPPoE()...)...)
	mustContain(t, again, "\npi  ok=6 changed=0 failed=0 skipped=0\n")
	if strings.Contains(again.stdout, "bootstrap") {
		t.Errorf("the second apply used the bootstrap settings:\n%s", again)
	}
	noPassword(t, plan, apply, again)
	if t.Failed() {
		t.Logf("second apply:\n%s", again)
	}
}
