package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// bootOnACable makes an nm host a card booted on a cable: Raspberry Pi
// Imager wrote no connection (it writes preconfigured only for Wi-Fi), so
// at boot NetworkManager makes its automatic "Wired connection 1" for eth0
// (DHCP, autoconnect-priority -999) and keeps it in /run only. The host's
// preconfigured file goes, NetworkManager starts again with /run emptied
// as a boot leaves it, and makes that profile (it stays "connecting": the
// lab has no DHCP server, so nm-online would wait in vain). Therefore
// the automatic profile is given the host's lab addresses in memory
// (nmcli --temporary, which keeps it in /run), standing in for the lease
// a router would give.
func bootOnACable(t *testing.T, h *testhost.Host) {
	t.Helper()
	gw4 := h.Addr[:strings.LastIndexByte(h.Addr, '.')] + ".1"
	gw6 := h.Addr6[:strings.LastIndexByte(h.Addr6, ':')] + ":1"
	h.Exec(t, "set -e; rm /etc/NetworkManager/system-connections/preconfigured.nmconnection; nmcli connection reload; "+
		"systemctl stop NetworkManager; rm -rf /run/NetworkManager; ip addr flush dev eth0 scope global; "+
		"systemctl start NetworkManager; i=0; until nmcli -t -f NAME connection show | grep -qx 'Wired connection 1' || [ $i -ge 120 ]; do sleep 1; i=$((i+1)); done")
	if out := h.Exec(t, "nmcli -t -f NAME,TYPE,DEVICE,FILENAME,AUTOCONNECT-PRIORITY connection show"); !strings.Contains(out,
		"Wired connection 1:802-3-ethernet:eth0:/run/NetworkManager/system-connections/Wired connection 1.nmconnection:-999\n") {
		t.Fatalf("NetworkManager made no automatic profile for eth0:\n%s", out)
	}
	h.Exec(t, "set -e; nmcli connection modify --temporary 'Wired connection 1' ipv4.method manual ipv4.addresses "+h.Addr+"/24 ipv4.gateway "+gw4+
		" ipv6.method manual ipv6.addresses "+h.Addr6+"/64 ipv6.gateway "+gw6+"; nmcli --wait 60 connection up 'Wired connection 1' >/dev/null")
	if out := h.Exec(t, "ls /etc/NetworkManager/system-connections/; nmcli -t -f NAME,DEVICE,FILENAME connection show --active | sort"); out !=
		"Wired connection 1:eth0:/run/NetworkManager/system-connections/Wired connection 1.nmconnection\nlo:lo:/run/NetworkManager/system-connections/lo.nmconnection\n" {
		t.Fatalf("the card booted on a cable has:\n%s", out)
	}
}

// The example on a card booted on a cable, with the variables of a Wi-Fi
// card (lan_connection left at preconfigured): there is no preconfigured
// to edit, so it saves a profile of its own, lan, bound to eth0 (the port
// NetworkManager's automatic profile is up on) with the static address,
// 0600 root, not brought up (eth0 keeps the address hako is connected to);
// a second apply changes nothing. Then what NetworkManager does with it:
// started again with both profiles and eth0 to bring up (as after a cable
// is plugged in again), it picks lan over the automatic one; at a boot
// (/run emptied) it makes no automatic profile and brings lan up with the
// static address.
func TestPiHomeServerNetworkManagerOnACable(t *testing.T) {
	h, args := nmCard(t)
	bootOnACable(t, h)

	facts := hako(t, append([]string{"facts"}, args()...)...)
	if facts.code != 0 {
		t.Fatalf("facts:\n%s", facts)
	}
	uuid := strings.TrimSpace(h.Exec(t, "nmcli -g connection.uuid connection show 'Wired connection 1'"))
	auto := `name="Wired connection 1" uuid="` + uuid + `" type="ethernet" device="eth0" state="activated" file="/run/NetworkManager/system-connections/Wired connection 1.nmconnection" persistent=false netplan=false`
	if got := nmProfileRows(facts.stdout); !slices.Contains(got, auto) || len(got) != 2 {
		t.Errorf("hako facts' profiles:\n%s\nwant among them:\n%s", strings.Join(got, "\n"), auto)
	}

	applyLanWired(t, h, args, []string{"nm_connection.lan ", "preconfigured"})
	// Saved, not brought up: the automatic profile keeps eth0 and the lab
	// address the session uses.
	if out := h.Exec(t, "nmcli -t -f NAME,DEVICE connection show --active | sort; ip -4 -o addr show dev eth0 | awk '{ print $4 }'"); out !=
		"Wired connection 1:eth0\nlo:lo\n"+h.Addr+"/24\n" {
		t.Errorf("after apply, active profiles and eth0's addresses:\n%s", out)
	}

	// NetworkManager started again with both profiles in place and eth0
	// to bring up (its record of eth0's activation in /run removed, as
	// when the cable comes back): lan (priority 10) is chosen over the
	// automatic profile (-999). eth0 takes the static address: the host is
	// reached through the harness from here on.
	h.Exec(t, "set -e; systemctl stop NetworkManager; rm -rf /run/NetworkManager/devices; ip addr flush dev eth0 scope global; "+
		"systemctl start NetworkManager; nm-online -s -q -t 120")
	if out := h.Exec(t, "nmcli -t -f NAME,DEVICE,STATE connection show | sort"); out != "Wired connection 1::\nlan:eth0:activated\nlo:lo:activated\n" {
		t.Errorf("NetworkManager restarted with both profiles:\n%s", out)
	}
	const keyfile = "/etc/NetworkManager/system-connections/lan.nmconnection"
	// A boot: /run is empty, so only the saved profiles are there, and
	// NetworkManager makes no automatic one for eth0, which lan fits.
	h.Exec(t, "set -e; systemctl stop NetworkManager; rm -rf /run/NetworkManager; ip addr flush dev eth0 scope global; "+
		"systemctl start NetworkManager; nm-online -s -q -t 120")
	if out := h.Exec(t, "nmcli -t -f NAME,DEVICE,STATE,FILENAME connection show | sort"); out !=
		"lan:eth0:activated:"+keyfile+"\nlo:lo:activated:/run/NetworkManager/system-connections/lo.nmconnection\n" {
		t.Errorf("after a boot, NetworkManager's profiles:\n%s", out)
	}
	if out := h.Exec(t, "nmcli -t -f GENERAL.STATE,GENERAL.CONNECTION device show eth0; ip -4 -o addr show dev eth0 | awk '{ print $4 }'"); out !=
		"GENERAL.STATE:100 (connected)\nGENERAL.CONNECTION:lan\n192.168.0.64/24\n" {
		t.Errorf("after a boot, eth0:\n%s", out)
	}
}
