package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// What netplan 0.106 (Debian's, the version Raspberry Pi OS builds its
// own from; the test image has it) generates in
// /run/NetworkManager/system-connections/ from cloud-init's
// 50-cloud-init.yaml with the image's own Ethernet entry (eth0, DHCP) and
// the Wi-Fi Raspberry Pi Imager writes (wlan0, one access point):
// cloudInitWifi. TestPiHomeServerTrixieWifiCard checks both files against
// the generator on the host, byte for byte.
const (
	netplanEth0 = "[connection]\nid=netplan-eth0\ntype=ethernet\ninterface-name=eth0\n\n[ethernet]\nwake-on-lan=0\n\n" +
		"[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=ignore\n"
	netplanWlan0 = "[connection]\nid=netplan-wlan0-Home Net\ntype=wifi\ninterface-name=wlan0\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=ignore\n\n" +
		"[wifi]\nssid=Home Net\nmode=infrastructure\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
)

// netplanBoot is the shell that does what a trixie card's boot does
// before NetworkManager starts: cloud-init's file in /etc/netplan (root
// 0600), and netplan's generator, run by systemd as
// /lib/systemd/system-generators/netplan, writing its profiles in /run.
const netplanBoot = "install -d -m 0755 /etc/netplan; (umask 077; printf '%s' '" + cloudInitWifi + "' > /etc/netplan/50-cloud-init.yaml); " +
	"/usr/lib/netplan/generate"

// bootWith starts NetworkManager afresh as a boot does (/run emptied, the
// saved profiles in /etc only), with prepare run before it starts, and
// waits until it has made profile, the one that brings eth0 up; that
// profile is then given the host's lab addresses in memory (nmcli
// --temporary, which keeps it in /run), standing in for the DHCP lease a
// router would give (the lab has no DHCP server), and brought up.
func bootWith(t *testing.T, h *testhost.Host, prepare, profile string) {
	t.Helper()
	gw4 := h.Addr[:strings.LastIndexByte(h.Addr, '.')] + ".1"
	gw6 := h.Addr6[:strings.LastIndexByte(h.Addr6, ':')] + ":1"
	h.Exec(t, "set -e; systemctl stop NetworkManager; rm -rf /run/NetworkManager; ip addr flush dev eth0 scope global; "+prepare+"; "+
		"systemctl start NetworkManager; i=0; until nmcli -t -f NAME connection show | grep -qxF '"+profile+"' || [ $i -ge 120 ]; do sleep 1; i=$((i+1)); done")
	h.Exec(t, "set -e; nmcli connection modify --temporary '"+profile+"' ipv4.method manual ipv4.addresses "+h.Addr+"/24 ipv4.gateway "+gw4+
		" ipv6.method manual ipv6.addresses "+h.Addr6+"/64 ipv6.gateway "+gw6+"; nmcli --wait 60 connection up '"+profile+"' >/dev/null")
}

// lanIsStatic checks the example's own profile as NetworkManager holds
// it: saved in /etc, root 0600, Ethernet on eth0, autoconnecting with
// priority 10, and the static address.
func lanIsStatic(t *testing.T, h *testhost.Host) {
	t.Helper()
	const keyfile = "/etc/NetworkManager/system-connections/lan.nmconnection"
	if out := h.Exec(t, "stat -c '%U %G %a' "+keyfile); out != "root root 600\n" {
		t.Errorf("%s: %s", keyfile, out)
	}
	if out := h.Exec(t, "nmcli -t -f ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.dns,connection.type,connection.interface-name,connection.autoconnect,connection.autoconnect-priority connection show lan"); out !=
		"ipv4.method:manual\nipv4.addresses:192.168.0.64/24\nipv4.gateway:192.168.0.1\nipv4.dns:192.168.0.1\n"+
			"connection.type:802-3-ethernet\nconnection.interface-name:eth0\nconnection.autoconnect:yes\nconnection.autoconnect-priority:10\n" {
		t.Errorf("nmcli connection show lan:\n%s", out)
	}
}

// applyLanWired plans and applies the example on an nm card where it saves
// its own profile, lan, on the cable (nm_connection.lan_wired): plan shows
// the profile and none of notInPlan, apply changes it, confirms the login
// and says applyAlso, and lan is saved as lanIsStatic wants; then a second
// apply changes nothing.
func applyLanWired(t *testing.T, h *testhost.Host, args func(...string) []string, notInPlan []string, applyAlso ...string) {
	t.Helper()
	plan := hako(t, append([]string{"plan"}, args()...)...)
	if plan.code != 0 {
		t.Fatalf("plan:\n%s", plan)
	}
	mustContain(t, plan, "+ nm_connection.lan_wired  create connection lan (ethernet); applies when the connection next comes up",
		"+interface-name=eth0", "+address1=192.168.0.64/24")
	for _, s := range notInPlan {
		if strings.Contains(plan.stdout, s) {
			t.Errorf("the plan has %q:\n%s", s, plan)
		}
	}

	apply := hako(t, append([]string{"apply"}, args()...)...)
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	t.Logf("apply:\n%s", apply.stdout)
	mustContain(t, apply, append([]string{"changed  nm_connection.lan_wired", "confirmed: logged in on port 2222 as ada", "failed=0"}, applyAlso...)...)
	lanIsStatic(t, h)

	again := hako(t, append([]string{"apply"}, args()...)...)
	mustContain(t, again, "\npi  ok=4 changed=0 failed=0 skipped=0\n")
	if t.Failed() {
		t.Logf("second apply:\n%s", again)
	}
}

// The example on a card shaped as Raspberry Pi OS trixie leaves it:
// cloud-init's network-config rendered by netplan, whose NetworkManager
// profiles are in /run (netplan-eth0, up on the cable; Imager's Wi-Fi,
// netplan-wlan0-Home Net, not up: the test host has no Wi-Fi), no keyfile
// in /etc, no pi user (ada). hako facts shows both as netplan's; the plan
// saves its own profile, lan, on eth0 with the static address and leaves
// netplan's files alone; a second apply changes nothing; NetworkManager
// started again with both brings lan up, and so does a boot, at which
// netplan's profiles are written again beside it.
func TestPiHomeServerTrixieCard(t *testing.T) {
	h, args := nmCard(t)
	h.Exec(t, "set -e; rm /etc/NetworkManager/system-connections/preconfigured.nmconnection; nmcli connection reload")
	bootWith(t, h, netplanBoot, "netplan-eth0")
	if out := h.Exec(t, "ls -A /etc/NetworkManager/system-connections/; getent passwd pi || echo no pi; nmcli -t -f NAME,DEVICE,FILENAME connection show | sort"); out !=
		"no pi\nlo:lo:/run/NetworkManager/system-connections/lo.nmconnection\n"+
			"netplan-eth0:eth0:/run/NetworkManager/system-connections/netplan-eth0.nmconnection\n"+
			"netplan-wlan0-Home Net::/run/NetworkManager/system-connections/netplan-wlan0-Home%20Net.nmconnection\n" {
		t.Fatalf("the trixie card has:\n%s", out)
	}
	netplanFiles := "sha256sum /run/NetworkManager/system-connections/netplan-*"
	before := h.Exec(t, netplanFiles)

	facts := hako(t, append([]string{"facts"}, args()...)...)
	if facts.code != 0 {
		t.Fatalf("facts:\n%s", facts)
	}
	rows := nmProfileRows(facts.stdout)
	for _, want := range []string{
		`name="netplan-eth0" uuid="` + strings.TrimSpace(h.Exec(t, "nmcli -g connection.uuid connection show netplan-eth0")) +
			`" type="ethernet" device="eth0" state="activated" file="/run/NetworkManager/system-connections/netplan-eth0.nmconnection" persistent=false netplan=true`,
		`name="netplan-wlan0-Home Net" uuid="` + strings.TrimSpace(h.Exec(t, "nmcli -g connection.uuid connection show 'netplan-wlan0-Home Net'")) +
			`" type="wifi" device="" state="" file="/run/NetworkManager/system-connections/netplan-wlan0-Home%20Net.nmconnection" persistent=false netplan=true`,
	} {
		if !slices.Contains(rows, want) {
			t.Errorf("hako facts' profiles:\n%s\nwant among them:\n%s", strings.Join(rows, "\n"), want)
		}
	}

	applyLanWired(t, h, args, []string{"netplan_lan", "0123456789abcdef"},
		"port 2222 refused the connection; connecting with the bootstrap settings instead (ada@")
	if after := h.Exec(t, netplanFiles); after != before {
		t.Errorf("netplan's profiles changed:\n%s\nwere:\n%s", after, before)
	}
	if out := h.Exec(t, "ls /etc/netplan 2>&1; nmcli -t -f NAME,DEVICE connection show --active | sort; ip -4 -o addr show dev eth0 | awk '{ print $4 }'"); out !=
		"50-cloud-init.yaml\nlo:lo\nnetplan-eth0:eth0\n"+h.Addr+"/24\n" {
		t.Errorf("after apply (saved, not brought up):\n%s", out)
	}

	// NetworkManager started again with netplan's profile and lan both
	// there for eth0 (its record of eth0's activation removed, as when the
	// cable comes back): lan, priority 10, wins over netplan's, 0.
	h.Exec(t, "set -e; systemctl stop NetworkManager; rm -rf /run/NetworkManager/devices; ip addr flush dev eth0 scope global; "+
		"systemctl start NetworkManager; nm-online -s -q -t 120")
	if out := h.Exec(t, "nmcli -t -f NAME,DEVICE,STATE connection show | sort"); out !=
		"lan:eth0:activated\nlo:lo:activated\nnetplan-eth0::\nnetplan-wlan0-Home Net::\n" {
		t.Errorf("NetworkManager restarted with both profiles:\n%s", out)
	}
	// A boot: /run emptied, netplan's generator writes its profiles again
	// (the plan wrote nothing in /etc/netplan),
	// NetworkManager starts and brings lan up with the static address.
	h.Exec(t, "set -e; systemctl stop NetworkManager; rm -rf /run/NetworkManager; ip addr flush dev eth0 scope global; "+netplanBoot+
		"; systemctl start NetworkManager; nm-online -s -q -t 120")
	if out := h.Exec(t, "nmcli -t -f GENERAL.STATE,GENERAL.CONNECTION device show eth0; ip -4 -o addr show dev eth0 | awk '{ print $4 }'"); out !=
		"GENERAL.STATE:100 (connected)\nGENERAL.CONNECTION:lan\n192.168.0.64/24\n" {
		t.Errorf("after a boot, eth0:\n%s", out)
	}
}
