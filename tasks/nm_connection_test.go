package tasks

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func init() {
	kindSamples["nm_connection"] = &Change{Address: Address{"nm_connection", "lan"}, Action: Update,
		Summary: "update connection preconfigured (wifi); applies when the connection next comes up (reboot, reconnect; up = false)",
		Content: NewContentChange("/etc/NetworkManager/system-connections/preconfigured.nmconnection (the keys hako manages)",
			[]byte("[ipv4]\nmethod=auto\n"), []byte("[ipv4]\nmethod=manual\naddress1=192.168.0.64/24\n"), false),
		Planned: &NMConnectionPlan{Exists: true, Write: true, UUID: "0b1e3f6a-2c44-4c8e-9a57-2f1d1b7e9c10",
			Keyfile: []byte("[wifi-security]\npsk=hunter2hunter2\n"), Secrets: true, Load: true, Up: true,
			MovesFrom: "192.168.0.23", MovesTo: "192.168.0.64", Leftovers: []string{"/etc/NetworkManager/system-connections/.x.hako-0123456789ab"}}}
}

// imagerWifi is the keyfile Raspberry Pi Imager writes for the Wi-Fi
// network it was given (bookworm), with a comment and a key the task does
// not know.
const imagerWifi = `[connection]
id=preconfigured
uuid=4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21
type=wifi
# written by Raspberry Pi Imager
timestamp=1733390000

[wifi]
mode=infrastructure
ssid=HomeNet
hidden=false

[ipv4]
method=auto

[ipv6]
addr-gen-mode=default
method=auto

[proxy]

[wifi-security]
key-mgmt=wpa-psk
psk=correct-horse-battery
`

// decodeNM decodes the task block src as the plan package does (schema,
// nested blocks, decoder); the attributes named in sensitive are marked
// as a sensitive variable would mark them.
func decodeNM(t *testing.T, src string, sensitive ...string) (*NMConnection, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "plan.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "task", LabelNames: []string{"kind", "name"}}}})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		t.Fatalf("no task block: %v", diags)
	}
	b := content.Blocks[0]
	k, _ := LookupKind("nm_connection")
	bc, diags := b.Body.Content(k.Schema)
	eval := func(body map[string]*hcl.Attribute) map[string]attrs.Attr {
		items := map[string]attrs.Attr{}
		for name, at := range body {
			v, d := at.Expr.Value(nil)
			diags = diags.Extend(d)
			for _, s := range sensitive {
				if s == name {
					v = v.Mark(sensitiveMark{})
				}
			}
			items[name] = attrs.Attr{Value: v, Range: at.Expr.Range()}
		}
		return items
	}
	a := &attrs.Attrs{Kind: "nm_connection", Name: b.Labels[1], Decl: b.DefRange, Items: eval(bc.Attributes)}
	for _, nb := range bc.Blocks {
		nc, d := nb.Body.Content(k.BlockSchemas[nb.Type])
		diags = diags.Extend(d)
		na := &attrs.Attrs{Kind: "nm_connection", Name: b.Labels[1], Decl: nb.DefRange, Items: eval(nc.Attributes)}
		if a.Blocks == nil {
			a.Blocks = map[string][]*attrs.Attrs{}
		}
		a.Blocks[nb.Type] = append(a.Blocks[nb.Type], na)
	}
	task := k.Decode(a)
	diags = diags.Extend(a.Diags)
	for _, nb := range a.Blocks["ipv4"] {
		diags = diags.Extend(nb.Diags)
	}
	return task.(*NMConnection), diags
}

func mustNM(t *testing.T, body string, sensitive ...string) *NMConnection {
	t.Helper()
	n, diags := decodeNM(t, "task \"nm_connection\" \"lan\" {\n"+body+"\n}\n", sensitive...)
	if diags.HasErrors() {
		t.Fatalf("decode: %v", diags)
	}
	return n
}

// nmHost is what the probes see: the keyfile (nil: missing) and its
// mode, whether NetworkManager runs, and the device holding hako's
// address.
type nmHost struct {
	keyfile   *string
	mode      int
	uid       int
	stopped   bool
	noNM      bool
	endpoint  nmEndpointInfo
	leftovers []string
	// loaded is the profile NetworkManager holds from the keyfile; nil:
	// the one the keyfile says, as after nmcli connection load.
	loaded *nmLoadedProfile
}

// inSync is the profile NetworkManager holds after loading keyfile (as
// n would have it: the fields n sets), or none without a keyfile.
func (h nmHost) inSync(n *NMConnection) nmLoadedProfile {
	if h.stopped || h.noNM {
		return nmLoadedProfile{}
	}
	if h.keyfile == nil {
		return nmLoadedProfile{Known: true}
	}
	lines := parseKeyfile([]byte(*h.keyfile))
	typ, _ := kfGet(lines, "connection", "type")
	uuid, _ := kfGet(lines, "connection", "uuid")
	p := nmLoadedProfile{Known: true, UUID: uuid, Fields: map[string]string{}}
	for _, f := range n.loadedFields(nmTypeAliases[typ], uuid) {
		p.Fields[f[0]] = f[1]
	}
	return p
}

func (h nmHost) fake(n *NMConnection) *probe.Fake {
	f := probe.NewFake()
	p := n.path()
	if h.keyfile != nil {
		mode := h.mode
		if mode == 0 {
			mode = 0o600
		}
		user := "root"
		if h.uid != 0 {
			user = "pi"
		}
		f.Set(probe.Stat{Path: p}, FileInfo{Exists: true, Type: "regular file", Mode: mode, UID: h.uid, User: user, Group: "root", Size: int64(len(*h.keyfile))})
		f.Set(probe.File{Path: p}, Content{Readable: true, Data: []byte(*h.keyfile)})
	} else {
		f.Set(probe.Stat{Path: p}, FileInfo{})
		f.Set(probe.File{Path: p}, Content{})
	}
	devs := map[string]string{"wlan0": "connected", "eth0": "connected"}
	if h.noNM {
		devs = nil
	}
	f.Set(probe.NetDevices{}, devs)
	f.Set(probe.Facts{}, probe.HostFacts{NetworkStacks: probe.NetworkStacks{NetworkManager: !h.stopped}})
	f.Set(nmEndpoint{}, h.endpoint)
	if h.loaded != nil {
		f.Set(nmLoaded{Path: p}, *h.loaded)
	} else {
		f.Set(nmLoaded{Path: p}, h.inSync(n))
	}
	var names []string
	for _, l := range h.leftovers {
		names = append(names, filepath.Base(l))
	}
	f.Set(probe.Leftovers{Dir: nmConnectionsDir}, probe.LeftoverFiles{Dir: nmConnectionsDir, RootOnly: true, Names: names})
	return f
}

func checkNM(t *testing.T, n *NMConnection, h nmHost, env Env) (*Change, error) {
	t.Helper()
	a, err := h.fake(n).Answer(n.Probes())
	if err != nil {
		t.Fatal(err)
	}
	return n.Check(NewState(a), env)
}

// nmRecorder is a host that records writes and commands; fail makes a
// command whose text contains the key exit 1 with the value as its
// error output.
type nmRecorder struct {
	hosts.Host
	writes []hosts.FileWrite
	cmds   []string
	fail   map[string]string
}

func (r *nmRecorder) WriteFile(_ context.Context, w hosts.FileWrite) error {
	r.writes = append(r.writes, w)
	return nil
}

func (r *nmRecorder) Run(_ context.Context, cmd string) (hosts.Result, error) {
	r.cmds = append(r.cmds, cmd)
	for k, msg := range r.fail {
		if strings.Contains(cmd, k) {
			return hosts.Result{ExitCode: 1, Stderr: []byte(msg)}, nil
		}
	}
	return hosts.Result{}, nil
}

// applyNM applies c and returns what the host holds afterwards.
func applyNM(t *testing.T, n *NMConnection, c *Change, h nmHost) (nmHost, *nmRecorder) {
	t.Helper()
	r := &nmRecorder{}
	if err := n.Apply(context.Background(), r, c); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(r.writes) != 1 {
		t.Fatalf("%d writes, want 1", len(r.writes))
	}
	w := r.writes[0]
	if w.Path != n.path() || w.Mode != 0o600 || w.Owner != "root" || w.Group != "root" {
		t.Errorf("written as %s %v %s:%s, want %s 0600 root:root", w.Path, w.Mode, w.Owner, w.Group, n.path())
	}
	s := string(w.Content)
	h.keyfile, h.mode, h.uid, h.leftovers = &s, 0o600, 0, nil
	return h, r
}

// shown is everything a plan shows of a change: its summary, attributes,
// refusals, diff and JSON.
func shown(t *testing.T, c *Change) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out := c.Summary + "\n" + string(b) + "\n"
	for _, a := range c.Attrs {
		out += a.Name + " " + a.Before + " " + a.After + "\n"
	}
	for _, r := range c.Refusals {
		out += r.Error() + "\n"
	}
	if c.Content != nil {
		out += c.Content.Diff()
	}
	return out
}

const staticIPv4 = `  ipv4 {
    method    = "manual"
    addresses = ["192.168.0.64/24"]
    gateway   = "192.168.0.1"
    dns       = ["192.168.0.1", "9.9.9.9"]
  }`

// The Wi-Fi connection Imager made gets a static address; every line the
// task does not own stays as it was, the PSK is shown nowhere, the file
// is written 0600 root:root, NetworkManager loads it and nothing is
// brought up; the next check finds nothing to do.
func TestNMConnectionImagerWifiStatic(t *testing.T) {
	n := mustNM(t, `  name = "preconfigured"
`+staticIPv4)
	h := nmHost{keyfile: ptr(imagerWifi)}
	c, err := checkNM(t, n, h, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != Update || len(c.Refusals) != 0 {
		t.Fatalf("action %v refusals %v", c.Action, c.Refusals)
	}
	want := strings.Replace(imagerWifi, "[ipv4]\nmethod=auto\n", "[ipv4]\nmethod=manual\naddress1=192.168.0.64/24\ngateway=192.168.0.1\ndns=192.168.0.1;9.9.9.9;\n", 1)
	if got := string(c.Planned.(*NMConnectionPlan).Keyfile); got != want {
		t.Errorf("keyfile:\n%s\nwant:\n%s", got, want)
	}
	out := shown(t, c)
	for _, secret := range []string{"correct-horse-battery", "psk", "HomeNet"} {
		if strings.Contains(out, secret) {
			t.Errorf("the plan shows %q:\n%s", secret, out)
		}
	}
	diff := c.Content.Diff()
	for _, line := range []string{"-method=auto", "+method=manual", "+address1=192.168.0.64/24", "+dns=192.168.0.1;9.9.9.9;"} {
		if !strings.Contains(diff, line+"\n") {
			t.Errorf("diff lacks %q:\n%s", line, diff)
		}
	}
	if !strings.Contains(c.Summary, "applies when the connection next comes up") {
		t.Errorf("summary %q does not say when it applies", c.Summary)
	}
	after, r := applyNM(t, n, c, h)
	if want := []string{"nmcli connection load '/etc/NetworkManager/system-connections/preconfigured.nmconnection' && nmcli -t -f UUID,FILENAME connection show | grep -qxF '4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21:/etc/NetworkManager/system-connections/preconfigured.nmconnection'"}; !reflect.DeepEqual(r.cmds, want) {
		t.Errorf("commands %q, want %q", r.cmds, want)
	}
	again, err := checkNM(t, n, after, Env{})
	if err != nil || again.Changed() {
		t.Fatalf("second check: %v %+v", err, again)
	}
}

// A keyfile in an older spelling (long group names, the gateway inside
// the address, addresses=, repeated keys) comes out with one spelling of
// each owned key and the rest untouched.
func TestNMConnectionMergeOldSpellings(t *testing.T) {
	old := "[connection]\nid=lan\nuuid=u-1\ntype=802-3-ethernet\ninterface-name=eth0\nautoconnect=1\n\n" +
		"[802-3-ethernet]\nmac-address=dc:a6:32:00:00:01\n\n" +
		"[ipv4]\nmethod=manual\naddress1=10.0.0.5/8,10.0.0.1\naddresses=10.0.0.6/8;\ndns-search=home.arpa;\ndns=10.0.0.1;\nmethod=auto\nroute-metric=100"
	n := mustNM(t, `  name = "lan"
  type = "ethernet"
  interface = "eth0"
  autoconnect = true
`+staticIPv4)
	c, err := checkNM(t, n, nmHost{keyfile: &old}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := "[connection]\nid=lan\nuuid=u-1\ntype=802-3-ethernet\ninterface-name=eth0\nautoconnect=1\n\n" +
		"[802-3-ethernet]\nmac-address=dc:a6:32:00:00:01\n\n" +
		"[ipv4]\nmethod=manual\naddress1=192.168.0.64/24\ndns-search=home.arpa;\ndns=192.168.0.1;9.9.9.9;\nroute-metric=100\ngateway=192.168.0.1\n"
	if got := string(c.Planned.(*NMConnectionPlan).Keyfile); got != want {
		t.Errorf("keyfile:\n%q\nwant:\n%q", got, want)
	}
	after, _ := applyNM(t, n, c, nmHost{keyfile: &old})
	if again, err := checkNM(t, n, after, Env{}); err != nil || again.Changed() {
		t.Fatalf("second check: %v %+v", err, again)
	}
}

// A new PPPoE connection: the whole keyfile, the password in it but in no
// output, not even in nmcli's messages when loading fails.
func TestNMConnectionPPPoE(t *testing.T) {
	n := mustNM(t, `  name = "isp"
  type = "pppoe"
  interface = "eth1"
  username = "user@isp.example"
  password = "s3cret;pa55\\w0rd"
  autoconnect = true
  ipv4 {
    method = "auto"
  }`, "password")
	c, err := checkNM(t, n, nmHost{}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Planned.(*NMConnectionPlan)
	want := "[connection]\nid=isp\nuuid=" + nmUUID("isp") + "\ntype=pppoe\ninterface-name=ppp0\nautoconnect=true\n\n[ethernet]\n\n" +
		"[pppoe]\nparent=eth1\nusername=user@isp.example\npassword=s3cret;pa55\\\\w0rd\n\n[ipv4]\nmethod=auto\n"
	if got := string(d.Keyfile); got != want {
		t.Errorf("keyfile:\n%q\nwant:\n%q", got, want)
	}
	if c.Action != Create || !d.Secrets || !reflect.DeepEqual(c.Attrs, []AttrChange{{"mode", "", "0600"}, {"owner", "", "root"}, {"group", "", "root"}}) {
		t.Errorf("action %v secrets %v attrs %v", c.Action, d.Secrets, c.Attrs)
	}
	out := shown(t, c)
	if strings.Contains(out, "s3cret") || strings.Contains(out, "pa55") {
		t.Errorf("the plan shows the password:\n%s", out)
	}
	if !strings.Contains(out, "+password=(sensitive, changed)") {
		t.Errorf("the plan does not say the password is set:\n%s", out)
	}
	// nmcli quoting the keyfile in its error is not passed on.
	r := &nmRecorder{fail: map[string]string{"connection load": "invalid line password=s3cret;pa55\\w0rd"}}
	err = n.Apply(context.Background(), r, c)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "hidden") {
		t.Errorf("apply error %v", err)
	}
	after, _ := applyNM(t, n, c, nmHost{})
	if again, err := checkNM(t, n, after, Env{}); err != nil || again.Changed() {
		t.Fatalf("second check: %v %+v", err, again)
	}
	// Another password: the plan says it changes, and nothing more.
	n2 := mustNM(t, `  name = "isp"
  type = "pppoe"
  interface = "eth1"
  username = "user@isp.example"
  password = "n3w-s3cret"
  autoconnect = true
  ipv4 {
    method = "auto"
  }`, "password")
	c2, err := checkNM(t, n2, after, Env{})
	if err != nil || c2.Action != Update {
		t.Fatalf("%v %+v", err, c2)
	}
	out = shown(t, c2)
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "-password=(sensitive)\n+password=(sensitive, changed)") {
		t.Errorf("plan of a new password:\n%s", out)
	}
}

// Bringing up the connection that holds hako's address moves it: the plan
// says so and refuses it (check address-move) unless the run overrides
// that; the same change with the address kept, or applied at the next
// boot, is not refused.
func TestNMConnectionAddressMove(t *testing.T) {
	env := Env{Endpoint: hosts.Endpoint{ClientAddr: "192.168.0.10", ServerAddr: "192.168.0.23", ServerPort: 22}}
	onWlan := nmEndpointInfo{Dev: "wlan0", Type: "wifi", UUID: "4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21", ID: "preconfigured"}
	for _, tc := range []struct {
		name     string
		body     string
		endpoint nmEndpointInfo
		env      Env
		moves    string // the summary's words, "" for no move
	}{
		{name: "up, new address", body: "up = true\n" + staticIPv4, endpoint: onWlan, env: env,
			moves: "moves hako's address 192.168.0.23 (wlan0) to 192.168.0.64"},
		{name: "up, keeps the address", body: "up = true\n" + strings.Replace(staticIPv4, `"192.168.0.64/24"`, `"192.168.0.64/24", "192.168.0.23/24"`, 1),
			endpoint: onWlan, env: env},
		{name: "at next boot", body: staticIPv4, endpoint: onWlan, env: env},
		{name: "hako on another device", body: "up = true\n" + staticIPv4, env: env,
			endpoint: nmEndpointInfo{Dev: "eth0", Type: "ethernet", UUID: "other", ID: "Wired connection 1"}},
		{name: "no device holds the address", body: "up = true\n" + staticIPv4, env: env},
		{name: "local run", body: "up = true\n" + staticIPv4, endpoint: onWlan},
		{name: "to DHCP", body: "up = true\nipv4 {\nmethod = \"disabled\"\n}", endpoint: onWlan, env: env,
			moves: "to no IPv4 address"},
		{name: "the active profile, its IPv4 as it is", body: "up = true\nautoconnect = false", endpoint: onWlan, env: env},
		{name: "the active profile on DHCP, staying there", body: "up = true\nautoconnect = false\nipv4 {\nmethod = \"auto\"\n}", endpoint: onWlan, env: env},
		{name: "the active Wi-Fi given another key", body: "up = true\ntype = \"wifi\"\nssid = \"HomeNet\"\npsk = \"another-passphrase\"", endpoint: onWlan, env: env,
			moves: "to an address it may not keep"},
		{name: "the active Wi-Fi given another network", body: "up = true\ntype = \"wifi\"\nssid = \"CafeNet\"", endpoint: onWlan, env: env,
			moves: "to an address it may not keep"},
		{name: "another profile on hako's device, on DHCP", body: "up = true\ninterface = \"wlan0\"\nautoconnect = false", env: env,
			endpoint: nmEndpointInfo{Dev: "wlan0", Type: "wifi", UUID: "other", ID: "Wired connection 1"},
			moves:    "to an address it may not keep"},
		{name: "another profile on hako's device, holding its address", body: "up = true\ninterface = \"wlan0\"\n" + strings.Replace(staticIPv4, `"192.168.0.64/24"`, `"192.168.0.23/24"`, 1), env: env,
			endpoint: nmEndpointInfo{Dev: "wlan0", Type: "wifi", UUID: "other", ID: "Wired connection 1"}},
	} {
		n := mustNM(t, `  name = "preconfigured"
`+tc.body)
		c, err := checkNM(t, n, nmHost{keyfile: ptr(imagerWifi), endpoint: tc.endpoint}, tc.env)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		d := c.Planned.(*NMConnectionPlan)
		if tc.moves == "" {
			if len(c.Refusals) != 0 || d.MovesFrom != "" {
				t.Errorf("%s: refused %v, moves from %q", tc.name, c.Refusals, d.MovesFrom)
			}
			continue
		}
		if len(c.Refusals) != 1 || c.Refusals[0].Check != CheckAddressMove || !strings.Contains(c.Summary, tc.moves) || d.MovesFrom != "192.168.0.23" {
			t.Errorf("%s: refusals %v summary %q plan %+v", tc.name, c.Refusals, c.Summary, d)
		}
		if !strings.Contains(c.Refusals[0].Error(), "-confirm") {
			t.Errorf("%s: the refusal does not name -confirm: %v", tc.name, c.Refusals[0])
		}
		// Apply, as with the refusal overridden, leaves the move to the
		// run, which makes it last.
		r := &nmRecorder{}
		if err := n.Apply(context.Background(), r, c); err != nil {
			t.Fatal(err)
		}
		if len(r.cmds) != 1 || !strings.Contains(r.cmds[0], "connection load") {
			t.Errorf("%s: commands %q", tc.name, r.cmds)
		}
		if cmd, to := n.Move(c); cmd != "nmcli --wait 90 connection up uuid '4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21'" || to != d.MovesTo {
			t.Errorf("%s: move %q to %q", tc.name, cmd, to)
		}
	}
}

// up = true brings the connection up after the write and waits for it.
func TestNMConnectionUp(t *testing.T) {
	n := mustNM(t, "name = \"preconfigured\"\nup = true\nautoconnect = false")
	c, err := checkNM(t, n, nmHost{keyfile: ptr(imagerWifi)}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	_, r := applyNM(t, n, c, nmHost{keyfile: ptr(imagerWifi)})
	want := []string{"nmcli connection load '/etc/NetworkManager/system-connections/preconfigured.nmconnection' && nmcli -t -f UUID,FILENAME connection show | grep -qxF '4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21:/etc/NetworkManager/system-connections/preconfigured.nmconnection'",
		"nmcli --wait 90 connection up uuid '4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21'"}
	if !reflect.DeepEqual(r.cmds, want) {
		t.Errorf("commands %q, want %q", r.cmds, want)
	}
	if cmd, _ := n.Move(c); cmd != "" {
		t.Errorf("a change that keeps hako's address moves it: %q", cmd)
	}
}

// The host's keyfile's own state: a wrong mode or owner is fixed; where
// NetworkManager does not run, the file is written and not loaded.
func TestNMConnectionHostStates(t *testing.T) {
	n := mustNM(t, `name = "preconfigured"`)
	c, err := checkNM(t, n, nmHost{keyfile: ptr(imagerWifi), mode: 0o644, uid: 1000}, Env{})
	if err != nil || c.Action != Update || c.Content != nil ||
		!reflect.DeepEqual(c.Attrs, []AttrChange{{"mode", "0644", "0600"}, {"owner", "pi", "root"}}) {
		t.Fatalf("%v %+v", err, c)
	}
	if _, err := checkNM(t, n, nmHost{keyfile: ptr(imagerWifi)}, Env{}); err != nil {
		t.Fatal(err)
	}
	c, err = checkNM(t, n, nmHost{keyfile: ptr(imagerWifi), mode: 0o644, stopped: true}, Env{})
	if err != nil || c.Planned.(*NMConnectionPlan).Load || !strings.Contains(c.Summary, "not running") {
		t.Fatalf("stopped: %v %+v", err, c)
	}
	_, r := applyNM(t, n, c, nmHost{keyfile: ptr(imagerWifi)})
	if len(r.cmds) != 0 {
		t.Errorf("ran %q with NetworkManager stopped", r.cmds)
	}
	c, err = checkNM(t, n, nmHost{keyfile: ptr(imagerWifi), leftovers: []string{nmConnectionsDir + "/.preconfigured.nmconnection.hako-0123456789ab"}}, Env{})
	if err != nil || c.Action != Update || len(c.Planned.(*NMConnectionPlan).Leftovers) != 1 {
		t.Fatalf("leftovers: %v %+v", err, c)
	}
}

// What the host has that the task cannot go on with is an error that
// says why.
func TestNMConnectionCheckErrors(t *testing.T) {
	for _, tc := range []struct {
		body string
		host nmHost
		want string
	}{
		{`name = "preconfigured"`, nmHost{keyfile: ptr(imagerWifi), noNM: true}, "NetworkManager is not installed"},
		{`name = "lan"`, nmHost{}, "set type to create the connection"},
		{"name = \"preconfigured\"\ntype = \"ethernet\"", nmHost{keyfile: ptr(imagerWifi)}, `is a "wifi" connection, not ethernet`},
		{"name = \"vpn\"", nmHost{keyfile: ptr("[connection]\nid=vpn\ntype=wireguard\n")}, `"wireguard" connection, which this task does not manage`},
		{"name = \"home\"\ntype = \"wifi\"", nmHost{}, "needs ssid"},
		{"name = \"preconfigured\"\nup = true", nmHost{keyfile: ptr(imagerWifi), mode: 0o644, stopped: true}, "NetworkManager is not running"},
	} {
		n := mustNM(t, tc.body)
		if _, err := checkNM(t, n, tc.host, Env{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want …%s…", tc.body, err, tc.want)
		}
	}
}

// Bad input is an error at its expression (file:line:column) that says
// what is wrong, and never shows a secret.
func TestNMConnectionDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		body string
		at   string
		want string
	}{
		{"  name = \"lan\"\n  ipv4 {\n    method = \"manual\"\n    addresses = [\"192.168.0.300/24\"]\n  }", "plan.hcl:5,17-37", `got "192.168.0.300/24"`},
		{"  name = \"lan\"\n  ipv4 {\n    method = \"manual\"\n    addresses = [\"192.168.0.64\"]\n  }", "plan.hcl:5,17-33", "with its prefix length"},
		{"  name = \"lan\"\n  ipv4 {\n    method = \"manual\"\n    addresses = [\"fd00::1/64\"]\n  }", "plan.hcl:5,17-31", "not an IPv4 address"},
		{"  name = \"lan\"\n  ipv4 {\n    method = \"static\"\n  }", "plan.hcl:4,14-22", `method must be one of auto, manual, disabled, got "static"`},
		{"  name = \"lan\"\n  ipv4 {\n    method = \"manual\"\n  }", "plan.hcl:3,3-7", "needs addresses"},
		{"  name = \"lan\"\n  ipv4 {\n    method = \"auto\"\n    gateway = \"192.168.0.1/24\"\n  }", "plan.hcl:5,15-31", "gateway must be an IPv4 address"},
		{"  name = \"lan\"\n  ipv4 {\n    method = \"auto\"\n    dns = [\"one.one\"]\n  }", "plan.hcl:5,11-22", "DNS server"},
		{"  name = \"lan\"\n  ipv4 {\n    method = \"disabled\"\n    dns = [\"1.1.1.1\"]\n  }", "plan.hcl:5,11-22", "takes no dns"},
		{"  name = \"lan\"\n  ipv4 {\n    method = \"auto\"\n  }\n  ipv4 {\n    method = \"auto\"\n  }", "plan.hcl:6,3-7", "one ipv4 block"},
		{"  name = \"lan\"\n  type = \"wired\"", "plan.hcl:3,10-17", `type must be one of ethernet, wifi, pppoe, got "wired"`},
		{"  name = \"../lan\"", "plan.hcl:2,10-18", "name must be"},
		{"  name = \"lan\"\n  interface = \"eth0 up\"", "plan.hcl:3,15-24", "interface name"},
		{"  name = \"lan\"\n  type = \"ethernet\"\n  username = \"u\"", "plan.hcl:4,14-17", "belongs to pppoe connections"},
		{"  name = \"lan\"\n  password = \"hunter2\"", "plan.hcl:3,14-23", `set type = "pppoe"`},
		{"  name = \"isp\"\n  type = \"pppoe\"\n  username = \"u\"\n  password = \"hunter2\"", "plan.hcl:1,1-27", "the Ethernet NIC"},
		{"  name = \"isp\"\n  type = \"pppoe\"\n  interface = \"eth1\"\n  password = \"hunter2\"", "plan.hcl:1,1-27", "username and password"},
		{"  name = \"home\"\n  type = \"wifi\"\n  ssid = \"HomeNet\"\n  psk = \"short\"", "plan.hcl:5,9-16", "8 to 63"},
		{"  name = \"lan\"\n  up = \"now\"", "plan.hcl:3,8-13", "bool"},
	} {
		_, diags := decodeNM(t, "task \"nm_connection\" \"lan\" {\n"+tc.body+"\n}\n", "password", "psk")
		if len(diags) != 1 {
			t.Errorf("%s: %d diagnostics, want 1: %v", tc.body, len(diags), diags)
			continue
		}
		d := diags[0]
		if d.Subject == nil || d.Subject.String() != tc.at || !strings.Contains(d.Summary+": "+d.Detail, tc.want) {
			t.Errorf("%s:\n got %v: %s: %s\nwant %s: …%s…", tc.body, d.Subject, d.Summary, d.Detail, tc.at, tc.want)
		}
		if strings.Contains(d.Detail, "hunter2") || strings.Contains(d.Detail, "short") {
			t.Errorf("%s: the error shows the secret: %s", tc.body, d.Detail)
		}
	}
}

// mergeKeyfile keeps what it does not own byte for byte, also a file
// without a final newline, CRLF lines and a group it has to add.
func TestMergeKeyfileKeepsTheRest(t *testing.T) {
	want := []kfGroup{{name: "ipv4", entries: []kfEntry{{"method", "manual"}, {"address1", "10.0.0.2/24"}},
		owns: func(k string) bool { return k == "method" || nmAddressKey.MatchString(k) }}}
	for _, tc := range []struct{ in, out string }{
		{"[connection]\nid=x\n", "[connection]\nid=x\n\n[ipv4]\nmethod=manual\naddress1=10.0.0.2/24\n"},
		{"[connection]\nid=x\n\n", "[connection]\nid=x\n\n[ipv4]\nmethod=manual\naddress1=10.0.0.2/24\n"},
		{"[ipv4]\n# mine\nmethod = manual\n\n[ipv6]\nmethod=auto", "[ipv4]\n# mine\nmethod = manual\naddress1=10.0.0.2/24\n\n[ipv6]\nmethod=auto\n"},
		{"[ipv4]\r\nmethod=auto\r\nmay-fail=false\r\n", "[ipv4]\r\nmethod=manual\nmay-fail=false\r\naddress1=10.0.0.2/24\n"},
		{"", "[ipv4]\nmethod=manual\naddress1=10.0.0.2/24\n"},
	} {
		if got := string(mergeKeyfile([]byte(tc.in), want)); got != tc.out {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.out)
		}
	}
}

// The endpoint probe finds the device that holds the address hako's
// connection reached (through a veth's "@ifN" name) and asks nmcli about
// it; a connection name with a colon comes back unescaped.
func TestNMEndpointProbe(t *testing.T) {
	bin := t.TempDir()
	write(t, filepath.Join(bin, "ip"), `#!/bin/sh
cat <<'X'
1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
2: eth0@if7    inet 192.168.0.230/24 brd 192.168.0.255 scope global eth0\       valid_lft forever preferred_lft forever
3: wlan0    inet 192.168.0.23/24 brd 192.168.0.255 scope global dynamic wlan0\       valid_lft 86000sec preferred_lft 86000sec
3: wlan0    inet6 fe80::1/64 scope link \       valid_lft forever preferred_lft forever
X
`, 0o755)
	write(t, filepath.Join(bin, "nmcli"), `#!/bin/sh
[ "$1 $3 $4" = "-g device show" ] || exit 2
case "$2 $5" in
"GENERAL.TYPE $DEV") echo wifi ;;
"GENERAL.CON-UUID $DEV") echo 4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21 ;;
"GENERAL.CONNECTION $DEV") echo 'home\:net' ;;
*) exit 10 ;;
esac
`, 0o755)
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	for _, tc := range []struct {
		conn, dev string
		want      nmEndpointInfo
	}{
		{"192.168.0.10 50000 192.168.0.23 22", "wlan0", nmEndpointInfo{Dev: "wlan0", Type: "wifi", UUID: "4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21", ID: "home:net"}},
		{"192.168.0.10 50000 192.168.0.230 22", "eth0", nmEndpointInfo{Dev: "eth0", Type: "wifi", UUID: "4b2c0e1a-1f7e-4c55-9d1c-7d5c3f0a9e21", ID: "home:net"}},
		{"192.168.0.10 50000 192.168.0.2 22", "", nmEndpointInfo{}},
		{"", "", nmEndpointInfo{}},
	} {
		t.Setenv("HAKO_SSH_CONNECTION", tc.conn)
		t.Setenv("DEV", tc.dev)
		a, err := probe.Gather(context.Background(), local(), []Probe{nmEndpoint{}})
		if err != nil {
			t.Fatal(err)
		}
		if got := probe.Answer[nmEndpointInfo](a, nmEndpoint{}); got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.conn, got, tc.want)
		}
	}
}

// nmcli connection load exits 0 when NetworkManager refuses the file: the
// task looks for the file's profile and fails without it.
func TestNMConnectionLoadRefused(t *testing.T) {
	n := mustNM(t, "name = \"preconfigured\"\nautoconnect = false")
	c, err := checkNM(t, n, nmHost{keyfile: ptr(imagerWifi)}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	r := &nmRecorder{fail: map[string]string{"grep -qxF": ""}}
	err = n.Apply(context.Background(), r, c)
	if err == nil || !strings.Contains(err.Error(), "NetworkManager did not take the keyfile") {
		t.Errorf("apply: %v", err)
	}
}

// The address-move refusal fits in 300 characters as plan prints it,
// with long realistic values, and still says both ways out.
func TestNMAddressMoveMessageIsShort(t *testing.T) {
	// The longest destination: DHCP, from static addresses.
	n := mustNM(t, `name = "preconfigured-home"
up = true
ipv4 {
  method = "auto"
}`)
	n.addr.Name = "home_lan_static"
	env := Env{Endpoint: hosts.Endpoint{ClientAddr: "192.168.178.100", ServerAddr: "192.168.178.123", ServerPort: 22}}
	static := strings.NewReplacer("id=preconfigured", "id=preconfigured-home", "method=auto\n\n[ipv6]", "method=manual\naddress1=192.168.178.123/24\n\n[ipv6]").Replace(imagerWifi)
	c, err := checkNM(t, n, nmHost{keyfile: &static,
		endpoint: nmEndpointInfo{Dev: "wlan0", Type: "wifi", ID: "preconfigured-home"}}, env)
	if err != nil || len(c.Refusals) != 1 {
		t.Fatalf("%v %+v", err, c)
	}
	msg := "error " + n.addr.String() + ": " + c.Refusals[0].Error()
	t.Logf("%d: %s", len(msg), msg)
	if len(msg) > 300 {
		t.Errorf("%d characters: %s", len(msg), msg)
	}
	for _, want := range []string{"192.168.178.123 (wlan0)", "apply -confirm", "up = false", "-allow-risky address-move"} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in %s", want, msg)
		}
	}
}

// autoconnect_priority is connection.autoconnect-priority: written for a
// new connection, left alone when the keyfile has it, changed when it
// differs, and refused outside NetworkManager's range or not whole.
func TestNMConnectionAutoconnectPriority(t *testing.T) {
	n := mustNM(t, `  name = "lan"
  type = "ethernet"
  interface = "eth0"
  autoconnect = true
  autoconnect_priority = 10
`+staticIPv4)
	c, err := checkNM(t, n, nmHost{}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := "[connection]\nid=lan\nuuid=" + nmUUID("lan") + "\ntype=ethernet\ninterface-name=eth0\nautoconnect=true\nautoconnect-priority=10\n\n[ethernet]\n\n" +
		"[ipv4]\nmethod=manual\naddress1=192.168.0.64/24\ngateway=192.168.0.1\ndns=192.168.0.1;9.9.9.9;\n"
	if got := string(c.Planned.(*NMConnectionPlan).Keyfile); got != want {
		t.Errorf("keyfile:\n%q\nwant:\n%q", got, want)
	}
	after, _ := applyNM(t, n, c, nmHost{})
	if again, err := checkNM(t, n, after, Env{}); err != nil || again.Changed() {
		t.Fatalf("second check: %v %+v", err, again)
	}
	other := strings.Replace(*after.keyfile, "autoconnect-priority=10", "autoconnect-priority=-999", 1)
	c, err = checkNM(t, n, nmHost{keyfile: &other}, Env{})
	if err != nil || !c.Changed() || string(c.Planned.(*NMConnectionPlan).Keyfile) != want {
		t.Errorf("from -999: %v changed %v\n%s", err, c != nil && c.Changed(), c.Planned.(*NMConnectionPlan).Keyfile)
	}
	for _, bad := range []string{"1000", "-1000", "1.5", `"high"`} {
		_, diags := decodeNM(t, "task \"nm_connection\" \"lan\" {\n  name = \"lan\"\n  autoconnect_priority = "+bad+"\n}\n")
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "autoconnect_priority") {
			t.Errorf("autoconnect_priority = %s: %v", bad, diags)
		}
	}
}
