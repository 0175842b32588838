package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// nmLabPlan is an nm_connection task for a profile of its own (eth9: no
// such device, so nothing comes up under the test) with the address
// 192.168.50.ADDR.
func nmLabPlan(addr int) string {
	return fmt.Sprintf(`
task "nm_connection" "lab" {
  name        = "lab"
  type        = "ethernet"
  interface   = "eth9"
  autoconnect = false
  ipv4 {
    method    = "manual"
    addresses = ["192.168.50.%d/24"]
    gateway   = "192.168.50.1"
    dns       = ["192.168.50.1"]
  }
}
`, addr)
}

// The keyfile as the plan wants it is not what the host runs by until
// NetworkManager has read it: with the planned file put in place by hand
// (no nmcli connection load), NetworkManager holding the older profile,
// plan says it reloads, showing what differs; apply has NetworkManager
// read it; a second apply changes nothing. A keyfile NetworkManager
// holds no profile from at all is loaded likewise.
func TestNMConnectionReloadsLoadedProfile(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	const keyfile = "/etc/NetworkManager/system-connections/lab.nmconnection"
	older, newer := nmPlanFor(t, h, nmLabPlan(10)), nmPlanFor(t, h, nmLabPlan(20))
	// The file the newer plan writes, then NetworkManager holding the
	// older profile (.10) from the older file.
	if r := hako(t, "apply", newer); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	planned := h.Exec(t, "cat "+keyfile)
	if r := hako(t, "apply", older); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	// The newer file put back by hand, without a load.
	h.ExecInput(t, planned, "umask 077; cat >"+keyfile+".new && mv "+keyfile+".new "+keyfile)
	if out := h.Exec(t, "nmcli -g ipv4.addresses connection show lab"); out != "192.168.50.10/24\n" {
		t.Fatalf("NetworkManager holds %q, want the older profile", out)
	}

	plan := hako(t, "plan", newer)
	t.Logf("plan:\n%s", plan)
	mustContain(t, plan, "~ nm_connection.lab  reload connection lab (ethernet): NetworkManager holds an older profile",
		"loaded ipv4.addresses", "192.168.50.10/24", "Plan: 1 to change")
	if strings.Contains(plan.stdout, "address1=") {
		t.Errorf("the plan shows a content change of a file that is as planned:\n%s", plan)
	}
	apply := hako(t, "apply", newer)
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	if out := h.Exec(t, "cat "+keyfile); out != planned {
		t.Errorf("the reload changed the keyfile:\n%s\nwant:\n%s", out, planned)
	}
	want := "ipv4.method:manual\nipv4.addresses:192.168.50.20/24\nipv4.gateway:192.168.50.1\nipv4.dns:192.168.50.1\n"
	if out := h.Exec(t, "nmcli -t -f ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.dns connection show lab"); out != want {
		t.Errorf("NetworkManager holds:\n%s\nwant:\n%s", out, want)
	}
	mustContain(t, hako(t, "apply", newer), "pi  ok=1 changed=0 failed=0")

	// NetworkManager forgets the profile (its file gone at a reload);
	// the file comes back by hand.
	h.Exec(t, "mv "+keyfile+" /root/lab.keep && nmcli connection reload && mv /root/lab.keep "+keyfile)
	if out := h.Exec(t, "nmcli -t -f FILENAME connection show"); strings.Contains(out, keyfile) {
		t.Fatalf("NetworkManager still holds the profile:\n%s", out)
	}
	plan = hako(t, "plan", newer)
	mustContain(t, plan, "~ nm_connection.lab  load connection lab (ethernet): NetworkManager holds no profile from the keyfile")
	if r := hako(t, "apply", newer); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	if out := h.Exec(t, "nmcli -t -f ipv4.addresses connection show lab"); out != "ipv4.addresses:192.168.50.20/24\n" {
		t.Errorf("after the load: %s", out)
	}
	mustContain(t, hako(t, "apply", newer), "pi  ok=1 changed=0 failed=0")
}

// wifiPSK is the Wi-Fi key of the card's network: no hako output may
// show it.
const wifiPSK = "Kiwi-Secret-4711-wpa"

// The Wi-Fi connection Raspberry Pi Imager writes (its SSID and key in
// the keyfile) gets a static IPv4 address on a real NetworkManager (it
// loads a Wi-Fi profile without Wi-Fi hardware): the [wifi] and
// [wifi-security] lines stay byte for byte, the file is 0600 root,
// NetworkManager holds the SSID, the key and the address, no output
// (plan, plan -json, apply -v) shows the key, and a second apply
// changes nothing; nor does the same task stating the SSID and the key.
func TestNMConnectionImagerWifiOnHost(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	const keyfile = "/etc/NetworkManager/system-connections/preconfigured-wifi.nmconnection"
	// As Imager writes it; the key comes on stdin, never on a command
	// line inside the host.
	h.ExecInput(t, wifiPSK+"\n", `read -r psk; umask 077; cat >`+keyfile+` <<EOF
[connection]
id=preconfigured-wifi
uuid=$(cat /proc/sys/kernel/random/uuid)
type=wifi
interface-name=wlan0
timestamp=1733390000

[wifi]
mode=infrastructure
ssid=Home Net
hidden=false

[ipv4]
method=auto

[ipv6]
addr-gen-mode=default
method=auto

[proxy]

[wifi-security]
key-mgmt=wpa-psk
psk=$psk
EOF
nmcli connection load `+keyfile)
	wifiLines := "sed -n '/^\\[wifi\\]/,/^$/p; /^\\[wifi-security\\]/,$p' " + keyfile
	before := h.Exec(t, wifiLines)
	if !strings.Contains(before, "psk="+wifiPSK) || !strings.Contains(before, "ssid=Home Net") {
		t.Fatalf("the keyfile as written:\n%s", before)
	}
	dir := nmPlanFor(t, h, `
task "nm_connection" "wifi" {
  name = "preconfigured-wifi"
  ipv4 {
    method    = "manual"
    addresses = ["192.168.60.10/24"]
    gateway   = "192.168.60.1"
    dns       = ["192.168.60.1"]
  }
}
`)
	plan := hako(t, "plan", dir)
	t.Logf("plan:\n%s", plan)
	mustContain(t, plan, "~ nm_connection.wifi  update connection preconfigured-wifi (wifi)", "+address1=192.168.60.10/24", "Plan: 1 to change")
	js := hako(t, "plan", "-json", dir)
	apply := hako(t, "apply", "-v", dir)
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	again := hako(t, "apply", "-v", dir)
	mustContain(t, again, "pi  ok=1 changed=0 failed=0")
	for _, r := range []result{plan, js, apply, again} {
		if strings.Contains(r.stdout+r.stderr, "Kiwi-Secret") {
			t.Errorf("an output shows the Wi-Fi key:\n%s", r)
		}
	}
	if out := h.Exec(t, wifiLines); out != before {
		t.Errorf("the Wi-Fi lines changed:\n%s\nwere:\n%s", out, before)
	}
	if out := h.Exec(t, "stat -c '%U %G %a' "+keyfile); out != "root root 600\n" {
		t.Errorf("%s: %s", keyfile, out)
	}
	want := "802-11-wireless.ssid:Home Net\nipv4.method:manual\nipv4.addresses:192.168.60.10/24\nipv4.gateway:192.168.60.1\n"
	if out := h.Exec(t, "nmcli -t -f 802-11-wireless.ssid,ipv4.method,ipv4.addresses,ipv4.gateway connection show preconfigured-wifi"); out != want {
		t.Errorf("NetworkManager holds:\n%s\nwant:\n%s", out, want)
	}
	if out := h.Exec(t, "nmcli -s -g 802-11-wireless-security.psk connection show preconfigured-wifi"); out != wifiPSK+"\n" {
		t.Errorf("NetworkManager lost the key (%d bytes held)", len(out))
	}
	t.Logf("second apply: %s", probeCount(t, again))

	// The same network and key stated in the plan (the key a sensitive
	// variable) are what NetworkManager holds: nothing to do.
	stated := nmPlanFor(t, h, `
variable "wifi_psk" {
  type      = string
  sensitive = true
  default   = "`+wifiPSK+`"
}
task "nm_connection" "wifi" {
  name = "preconfigured-wifi"
  type = "wifi"
  ssid = "Home Net"
  psk  = var.wifi_psk
  ipv4 {
    method    = "manual"
    addresses = ["192.168.60.10/24"]
    gateway   = "192.168.60.1"
    dns       = ["192.168.60.1"]
  }
}
`)
	same := hako(t, "apply", "-v", stated)
	mustContain(t, same, "pi  ok=1 changed=0 failed=0")
	if strings.Contains(same.stdout+same.stderr, "Kiwi-Secret") {
		t.Errorf("an output shows the Wi-Fi key:\n%s", same)
	}
	if out := h.Exec(t, wifiLines); out != before {
		t.Errorf("the Wi-Fi lines changed:\n%s\nwere:\n%s", out, before)
	}
}
