package e2e

import (
	"strings"
	"testing"
)

// cloudInitWifi is /etc/netplan/50-cloud-init.yaml as cloud-init renders
// the network-config Raspberry Pi Imager writes on a trixie card for
// Wi-Fi (the image's eth0 entry, Imager's wlan0 with one access point),
// with the renderer Raspberry Pi OS sets; the key is a made-up one.
const cloudInitWifi = "# This file is generated from information provided by the datasource.  Changes\n" +
	"# to it will not persist across an instance reboot.\n" +
	"network:\n    ethernets:\n        eth0:\n            dhcp4: true\n            optional: true\n" +
	"    renderer: NetworkManager\n    version: 2\n" +
	"    wifis:\n        wlan0:\n            access-points:\n                Home Net:\n" +
	"                    password: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n" +
	"            dhcp4: true\n            optional: true\n            regulatory-domain: GB\n"

// netplanPSK is the key in cloudInitWifi and netplanWlan0.
const netplanPSK = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// netplanWlan0Static is what netplan 0.106's generator makes of
// cloudInitWifi with the example's 90-hako-lan.yaml merged over it: the
// same SSID and key, the static address, the DNS, and the default route
// as a route (netplan writes `routes: to: default` as route1, not as
// ipv4.gateway).
const netplanWlan0Static = "[connection]\nid=netplan-wlan0-Home Net\ntype=wifi\ninterface-name=wlan0\n\n" +
	"[ipv4]\nmethod=manual\naddress1=192.168.0.64/24\ndns=192.168.0.1;\nroute1=0.0.0.0/0,192.168.0.1\n\n[ipv6]\nmethod=ignore\n\n" +
	"[wifi]\nssid=Home Net\nmode=infrastructure\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk=" + netplanPSK + "\n"

// The example on a Wi-Fi-only card shaped as Raspberry Pi OS trixie
// leaves it, with netplan's real generator (Debian's netplan 0.106 in the
// test image): cloud-init's 50-cloud-init.yaml in /etc/netplan, the
// profiles the generator makes from it in /run, no keyfile in /etc. The
// plan writes 90-hako-lan.yaml (root 0600); the generator run again, as
// at the next boot, gives the Wi-Fi profile the static address with its
// SSID and key kept, and NetworkManager loads it so; hako prints the key
// nowhere; a second apply changes nothing.
//
// What a network namespace cannot give, and what stands in for it: there
// is no Wi-Fi device, so netplan's Wi-Fi profile can be loaded but never
// comes up, and the new address is not seen on a link. The card is
// reached over its Wi-Fi, which the plan finds up in host.facts; here the
// test reaches it over eth0, which NetworkManager is told to leave alone
// (unmanaged: no Ethernet profile is up, as on a card with no cable, and
// netplan-eth0 is there but not up), and an nmcli in /usr/local/sbin
// (first in sudo's PATH) answers the facts probe's one listing with the
// Wi-Fi profile up on wlan0. Every other nmcli call, and everything
// NetworkManager and netplan do, is real.
func TestPiHomeServerTrixieWifiCard(t *testing.T) {
	h, args := nmCard(t)
	h.Exec(t, "set -e; rm /etc/NetworkManager/system-connections/preconfigured.nmconnection; "+
		"printf '[keyfile]\\nunmanaged-devices=interface-name:eth0\\n' > /etc/NetworkManager/conf.d/90-test-eth0.conf; "+
		"install -d -m 0755 /etc/netplan; (umask 077; printf '%s' '"+cloudInitWifi+"' > /etc/netplan/50-cloud-init.yaml); "+
		"cat > /usr/local/sbin/nmcli <<'EOF'\n#!/bin/sh\n"+
		"if [ \"$*\" = '-t -f NAME,UUID,TYPE,DEVICE,STATE,FILENAME connection show' ]; then\n"+
		"  out=$(/usr/bin/nmcli \"$@\") || exit\n"+
		"  printf '%s\\n' \"$out\" | sed 's/^\\(netplan-wlan0-Home Net:[^:]*:802-11-wireless\\):::/\\1:wlan0:activated:/'\n"+
		"  exit 0\nfi\nexec /usr/bin/nmcli \"$@\"\nEOF\n"+
		"chmod 0755 /usr/local/sbin/nmcli")
	// A boot: /run emptied, netplan's generator (what systemd runs as
	// /lib/systemd/system-generators/netplan) writes its profiles, then
	// NetworkManager starts. eth0 keeps the lab address (unmanaged).
	boot := "set -e; systemctl stop NetworkManager; rm -rf /run/NetworkManager; /usr/lib/netplan/generate; " +
		"systemctl start NetworkManager; nm-online -s -q -t 120"
	h.Exec(t, boot)
	wlan0 := "/run/NetworkManager/system-connections/netplan-wlan0-Home%20Net.nmconnection"
	if out := h.Exec(t, "cat '"+wlan0+"'"); out != netplanWlan0 {
		t.Errorf("the generator's Wi-Fi profile:\n%s\nwant:\n%s", out, netplanWlan0)
	}
	if out := h.Exec(t, "cat /run/NetworkManager/system-connections/netplan-eth0.nmconnection"); out != netplanEth0 {
		t.Errorf("the generator's eth0 profile:\n%s\nwant:\n%s", out, netplanEth0)
	}
	if out := h.Exec(t, "ls -A /etc/NetworkManager/system-connections/; /usr/bin/nmcli -t -f NAME,DEVICE,STATE,FILENAME connection show | sort; "+
		"nmcli -t -f NAME,UUID,TYPE,DEVICE,STATE,FILENAME connection show | cut -d: -f1,3- | sort"); out !=
		"lo:lo:activated:/run/NetworkManager/system-connections/lo.nmconnection\n"+
			"netplan-eth0:::/run/NetworkManager/system-connections/netplan-eth0.nmconnection\n"+
			"netplan-wlan0-Home Net:::"+wlan0+"\n"+
			"lo:loopback:lo:activated:/run/NetworkManager/system-connections/lo.nmconnection\n"+
			"netplan-eth0:802-3-ethernet:::/run/NetworkManager/system-connections/netplan-eth0.nmconnection\n"+
			"netplan-wlan0-Home Net:802-11-wireless:wlan0:activated:"+wlan0+"\n" {
		t.Fatalf("the trixie Wi-Fi card has:\n%s", out)
	}

	var outputs []result
	plan := hako(t, append([]string{"plan"}, args()...)...)
	outputs = append(outputs, plan)
	if plan.code != 0 {
		t.Fatalf("plan:\n%s", plan)
	}
	mustContain(t, plan, "+ file.netplan_lan", "/etc/netplan/90-hako-lan.yaml", "+      addresses: [\"192.168.0.64/24\"]")
	if strings.Contains(plan.stdout, "nm_connection.lan") {
		t.Errorf("the plan for a Wi-Fi-only trixie card edits a NetworkManager profile:\n%s", plan)
	}

	apply := hako(t, append([]string{"apply"}, args()...)...)
	outputs = append(outputs, apply)
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	t.Logf("apply:\n%s", apply.stdout)
	mustContain(t, apply, "changed  file.netplan_lan", "confirmed: logged in on port 2222 as ada", "failed=0")
	if out := h.Exec(t, "stat -c '%U %G %a' /etc/netplan/90-hako-lan.yaml /etc/netplan/50-cloud-init.yaml; ls -A /etc/NetworkManager/system-connections/"); out !=
		"root root 600\nroot root 600\n" {
		t.Errorf("after apply:\n%s", out)
	}

	// The next boot's generator run merges the plan's file over
	// cloud-init's; NetworkManager loads the result.
	h.Exec(t, "/usr/lib/netplan/generate")
	if out := h.Exec(t, "cat '"+wlan0+"'; stat -c '%U %G %a' '"+wlan0+"'"); out != netplanWlan0Static+"root root 600\n" {
		t.Errorf("the generator's Wi-Fi profile with the plan's file:\n%s\nwant:\n%s", out, netplanWlan0Static)
	}
	if out := h.Exec(t, "nmcli connection load '"+wlan0+"'; nmcli -f ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.routes,ipv4.dns,802-11-wireless.ssid,802-11-wireless-security.key-mgmt connection show 'netplan-wlan0-Home Net'; "+
		"nmcli -s -g 802-11-wireless-security.psk connection show 'netplan-wlan0-Home Net'"); out !=
		"ipv4.method:                            manual\n"+
			"ipv4.addresses:                         192.168.0.64/24\n"+
			"ipv4.gateway:                           --\n"+
			"ipv4.routes:                            { ip = 0.0.0.0/0, nh = 192.168.0.1 }\n"+
			"ipv4.dns:                               192.168.0.1\n"+
			"802-11-wireless.ssid:                   Home Net\n"+
			"802-11-wireless-security.key-mgmt:      wpa-psk\n"+
			netplanPSK+"\n" {
		t.Errorf("NetworkManager's Wi-Fi profile after the generator ran again:\n%s", out)
	}

	again := hako(t, append([]string{"apply"}, args()...)...)
	outputs = append(outputs, again)
	mustContain(t, again, " changed=0 failed=0 ")
	if t.Failed() {
		t.Logf("second apply:\n%s", again)
	}
	for _, r := range outputs {
		if strings.Contains(r.stdout+r.stderr, netplanPSK) || strings.Contains(r.stdout+r.stderr, netplanPSK[:16]) {
			t.Errorf("hako printed the Wi-Fi key:\n%s", r)
		}
	}
}
