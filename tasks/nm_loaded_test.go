package tasks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
)

// The keyfile is as planned but NetworkManager holds another profile from
// it (a run cut short before nmcli connection load, a file edited by
// hand): the plan reloads it, showing the fields that differ and no
// secret, and apply loads the file without writing it; in sync, nothing
// is planned; NetworkManager stopped, nothing is compared.
func TestNMConnectionReload(t *testing.T) {
	n := mustNM(t, `  name = "preconfigured"
  ssid = "HomeNet"
  type = "wifi"
  psk  = "correct-horse-battery"
`+staticIPv4, "psk")
	// The keyfile as the task plans it.
	c, err := checkNM(t, n, nmHost{keyfile: ptr(imagerWifi)}, Env{})
	if err != nil || !c.Changed() {
		t.Fatalf("first check: %v %+v", err, c)
	}
	planned, _ := applyNM(t, n, c, nmHost{keyfile: ptr(imagerWifi)})
	if again, err := checkNM(t, n, planned, Env{}); err != nil || again.Changed() {
		t.Fatalf("in sync: %v %+v", err, again)
	}

	// NetworkManager still holds the Imager's profile: DHCP.
	old := planned.inSync(n)
	old.Fields["ipv4.method"], old.Fields["ipv4.addresses"], old.Fields["ipv4.gateway"], old.Fields["ipv4.dns"] = "auto", "", "", ""
	behind := planned
	behind.loaded = &old
	c, err = checkNM(t, n, behind, Env{})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Planned.(*NMConnectionPlan)
	if c.Action != Update || d.Write || !d.Reload || c.Content != nil ||
		c.Summary != "reload connection preconfigured (wifi): NetworkManager holds an older profile; applies when the connection next comes up (reboot, reconnect; up = false)" {
		t.Errorf("plan: %+v %+v", c, d)
	}
	want := []AttrChange{{"loaded ipv4.method", "auto", "manual"}, {"loaded ipv4.addresses", "", "192.168.0.64/24"},
		{"loaded ipv4.gateway", "", "192.168.0.1"}, {"loaded ipv4.dns", "", "192.168.0.1,9.9.9.9"}}
	if !reflect.DeepEqual(c.Attrs, want) {
		t.Errorf("attrs:\n%v\nwant\n%v", c.Attrs, want)
	}
	js, _ := json.Marshal(c)
	if strings.Contains(string(js), "correct-horse") {
		t.Errorf("the plan shows the psk: %s", js)
	}
	r := &nmRecorder{}
	if err := n.Apply(context.Background(), r, c); err != nil {
		t.Fatal(err)
	}
	if len(r.writes) != 0 || len(r.cmds) != 1 || !strings.HasPrefix(r.cmds[0], "nmcli connection load '"+n.path()+"'") {
		t.Errorf("apply of a reload: writes %v, commands %q", r.writes, r.cmds)
	}

	// NetworkManager holds no profile from the file (it was never loaded).
	none := planned
	none.loaded = &nmLoadedProfile{Known: true}
	c, err = checkNM(t, n, none, Env{})
	if err != nil || !c.Planned.(*NMConnectionPlan).Reload ||
		!strings.HasPrefix(c.Summary, "load connection preconfigured (wifi): NetworkManager holds no profile from the keyfile") {
		t.Errorf("not loaded: %v %+v", err, c)
	}

	// NetworkManager stopped: it reads the file when it starts.
	stopped := planned
	stopped.stopped = true
	stopped.loaded = &nmLoadedProfile{}
	if c, err := checkNM(t, n, stopped, Env{}); err != nil || c.Changed() {
		t.Errorf("stopped: %v %+v", err, c)
	}
}

// A reload with up = true brings the connection up after the load.
func TestNMConnectionReloadUp(t *testing.T) {
	n := mustNM(t, "  name = \"preconfigured\"\n  up = true\n"+staticIPv4)
	c, err := checkNM(t, n, nmHost{keyfile: ptr(imagerWifi)}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	planned, _ := applyNM(t, n, c, nmHost{keyfile: ptr(imagerWifi)})
	old := planned.inSync(n)
	old.Fields["ipv4.addresses"] = "192.168.0.23/24"
	planned.loaded = &old
	c, err = checkNM(t, n, planned, Env{})
	if err != nil || !c.Planned.(*NMConnectionPlan).Reload || !c.Planned.(*NMConnectionPlan).Up {
		t.Fatalf("%v %+v", err, c)
	}
	r := &nmRecorder{}
	if err := n.Apply(context.Background(), r, c); err != nil {
		t.Fatal(err)
	}
	if len(r.writes) != 0 || len(r.cmds) != 2 || !strings.HasPrefix(r.cmds[1], "nmcli --wait 90 connection up uuid ") {
		t.Errorf("writes %v, commands %q", r.writes, r.cmds)
	}
}

// The probe asks nmcli twice for all the keyfiles of a host: the profiles
// and their files, then the fields of the profiles found, which it hands
// to each keyfile by the order asked; a file NetworkManager holds no
// profile from is "none"; where nmcli fails, nothing is known.
func TestNMLoadedProbe(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "log")
	write(t, filepath.Join(bin, "nmcli"), `#!/bin/sh
echo "$*" >>`+log+`
[ -z "$NMCLI_FAIL" ] || { echo "Error: NetworkManager is not running." >&2; exit 8; }
case "$*" in
"-t -f UUID,FILENAME connection show")
  echo '1111aaaa-0000-4000-8000-000000000001:/etc/NetworkManager/system-connections/a.nmconnection'
  echo '2222bbbb-0000-4000-8000-000000000002:/run/NetworkManager/system-connections/lo.nmconnection'
  echo '3333cccc-0000-4000-8000-000000000003:/etc/NetworkManager/system-connections/c.nmconnection'
  ;;
"-t -f "*" connection show uuid 1111aaaa-0000-4000-8000-000000000001 uuid 3333cccc-0000-4000-8000-000000000003")
  printf 'connection.uuid:1111aaaa-0000-4000-8000-000000000001\nconnection.id:a\nipv4.addresses:10.0.0.5/24, 10.0.0.6/24\nipv4.dns:\n\n'
  printf 'connection.uuid:3333cccc-0000-4000-8000-000000000003\nconnection.id:c\n802-11-wireless.ssid:My:Net\n'
  ;;
*) exit 2 ;;
esac
`, 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	dir := "/etc/NetworkManager/system-connections/"
	reqs := []Probe{nmLoaded{Path: dir + "c.nmconnection"}, nmLoaded{Path: dir + "b.nmconnection"}, nmLoaded{Path: dir + "a.nmconnection"}}
	a, err := probe.Gather(context.Background(), local(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]nmLoadedProfile{
		"a": {Known: true, UUID: "1111aaaa-0000-4000-8000-000000000001", Fields: map[string]string{
			"connection.uuid": "1111aaaa-0000-4000-8000-000000000001", "connection.id": "a", "ipv4.addresses": "10.0.0.5/24, 10.0.0.6/24", "ipv4.dns": ""}},
		"b": {Known: true, Fields: map[string]string{}},
		"c": {Known: true, UUID: "3333cccc-0000-4000-8000-000000000003", Fields: map[string]string{
			"connection.uuid": "3333cccc-0000-4000-8000-000000000003", "connection.id": "c", "802-11-wireless.ssid": "My:Net"}},
	}
	for name, w := range want {
		if got := probe.Answer[nmLoadedProfile](a, nmLoaded{Path: dir + name + ".nmconnection"}); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: %+v, want %+v", name, got, w)
		}
	}
	if calls, _ := os.ReadFile(log); strings.Count(string(calls), "\n") != 2 {
		t.Errorf("nmcli calls:\n%s", calls)
	}
	t.Setenv("NMCLI_FAIL", "1")
	a, err = probe.Gather(context.Background(), local(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if got := probe.Answer[nmLoadedProfile](a, reqs[0]); got.Known {
		t.Errorf("nmcli failing: %+v", got)
	}
}

// A reload brought up now is judged by the profile NetworkManager holds,
// not by the file (which is as planned already): the held profile has
// hako's address as a static one and the file says DHCP, so bringing it
// up moves the address (refused, address-move); held on DHCP as well, it
// keeps it.
func TestNMConnectionReloadMove(t *testing.T) {
	n := mustNM(t, "  name = \"preconfigured\"\n  up = true\n  ipv4 {\n    method = \"auto\"\n  }\n")
	env := Env{Endpoint: hosts.Endpoint{ClientAddr: "192.168.0.10", ServerAddr: "192.168.0.23", ServerPort: 22}}
	onWlan := nmEndpointInfo{Dev: "wlan0", Type: "wifi", UUID: "4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21", ID: "preconfigured"}
	h := nmHost{keyfile: ptr(imagerWifi), endpoint: onWlan}
	static := h.inSync(n)
	static.Fields["ipv4.method"], static.Fields["ipv4.addresses"] = "manual", "192.168.0.23/24"
	static.Fields["802-11-wireless.ssid"] = "HomeNet" // nmcli shows it for every Wi-Fi profile
	h.loaded = &static
	c, err := checkNM(t, n, h, env)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Planned.(*NMConnectionPlan); !d.Reload || d.Write || len(c.Refusals) != 1 || c.Refusals[0].Check != CheckAddressMove {
		t.Errorf("held static, file DHCP: %+v refusals %v", d, c.Refusals)
	}
	// Held on DHCP too, under another name: a reload that keeps the
	// address.
	dhcp := h.inSync(n)
	dhcp.Fields["connection.id"] = "Imager"
	dhcp.Fields["802-11-wireless.ssid"] = "HomeNet"
	h.loaded = &dhcp
	c, err = checkNM(t, n, h, env)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Planned.(*NMConnectionPlan); !d.Reload || len(c.Refusals) != 0 {
		t.Errorf("held DHCP: %+v refusals %v", d, c.Refusals)
	}
	// Held on another network: bringing it up joins this one.
	dhcp.Fields["802-11-wireless.ssid"] = "Neighbours"
	if c, err = checkNM(t, n, h, env); err != nil || len(c.Refusals) != 1 {
		t.Errorf("held on another network: %v refusals %v", err, c.Refusals)
	}
}
