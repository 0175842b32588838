package e2e

import (
	"strings"
	"testing"
)

// imagerWifi is the Wi-Fi connection Raspberry Pi Imager has a bookworm
// card save at first boot (imager_custom set_wlan), for wlan0; the key is
// a made-up one. The test host has no Wi-Fi, so it is never up.
const imagerWifi = "[connection]\nid=preconfigured\nuuid=5b0e2c84-6a43-4c1b-9f0e-2d7c1a8e3f10\ntype=wifi\ninterface-name=wlan0\n\n" +
	"[wifi]\nmode=infrastructure\nssid=Home Net\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n\n" +
	"[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n\n[proxy]\n"

// The example on a bookworm card with both the Wi-Fi Imager set and a
// cable plugged in: the static address goes on the cable (the plan's own
// lan, bound to eth0, where NetworkManager's automatic profile is up), not
// on the Wi-Fi, whose connection Imager saved is left as it is (same file,
// still DHCP); a second apply changes nothing.
func TestPiHomeServerWifiAndCable(t *testing.T) {
	h, args := nmCard(t)
	bootWith(t, h, "(umask 077; printf '%s' '"+imagerWifi+"' > /etc/NetworkManager/system-connections/preconfigured.nmconnection)", "Wired connection 1")
	if out := h.Exec(t, "nmcli -t -f NAME,TYPE,DEVICE connection show | sort"); out !=
		"Wired connection 1:802-3-ethernet:eth0\nlo:loopback:lo\npreconfigured:802-11-wireless:\n" {
		t.Fatalf("the card with Wi-Fi and a cable has:\n%s", out)
	}
	wifi := "sha256sum /etc/NetworkManager/system-connections/preconfigured.nmconnection; nmcli -t -f ipv4.method,ipv4.addresses connection show preconfigured"
	before := h.Exec(t, wifi)

	applyLanWired(t, h, args, []string{"nm_connection.lan ", "preconfigured"})
	if after := h.Exec(t, wifi); after != before || !strings.HasSuffix(after, "ipv4.method:auto\nipv4.addresses:\n") {
		t.Errorf("the Wi-Fi connection:\n%s\nwas:\n%s", after, before)
	}
}
