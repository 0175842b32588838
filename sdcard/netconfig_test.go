package sdcard

import "testing"

// What a card's network-config brings up is said by interface name only:
// the image's own (eth0), Raspberry Pi Imager's Wi-Fi (whose access point
// and key are never read out), one with every setting commented out.
func TestNetworkConfigNote(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"image", "network:\n  version: 2\n\n  ethernets:\n    eth0:\n      dhcp4: true\n      optional: true\n\n#  wifis:\n#    wlan0:\n",
			"left as it is: at first boot netplan brings up Ethernet eth0 by NetworkManager"},
		{"imager", "network:\n  version: 2\n  wifis:\n    wlan0:\n      dhcp4: true\n      regulatory-domain: \"GB\"\n      access-points:\n" +
			"        \"Home Net\":\n          password: \"0123456789abcdef\"\n      optional: true\n",
			"left as it is: at first boot netplan brings up Wi-Fi wlan0 (as written there) by NetworkManager"},
		{"both", "network:\n  ethernets:\n    eth0: {dhcp4: true}\n  wifis:\n    \"wlan0\":\n      dhcp4: true\n  version: 2\n",
			"left as it is: at first boot netplan brings up Ethernet eth0 and Wi-Fi wlan0 (as written there) by NetworkManager"},
		{"commented out", "#network:\n#  version: 2\n",
			"names no interface: NetworkManager brings a cable up by DHCP; boot the Pi on a cable"},
	} {
		if got := networkConfigNote([]byte(c.data)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
