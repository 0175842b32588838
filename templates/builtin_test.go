package templates

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite golden files")

func strs(ss ...string) cty.Value {
	var vs []cty.Value
	for _, s := range ss {
		vs = append(vs, cty.StringVal(s))
	}
	return cty.ListVal(vs)
}

// The values of the Raspberry Pi home server (examples/pi-home-server).
var builtinVars = map[string]map[string]cty.Value{
	"dhcpcd.conf.tftpl": {"interface": cty.StringVal("wlan0"), "address": cty.StringVal("192.168.0.64/24"),
		"router": cty.StringVal("192.168.0.1"), "dns": strs("192.168.0.1"), "deny_interfaces": strs("eth1", "ppp0")},
	"sshd-hardening.conf.tftpl": {"port": cty.NumberIntVal(50022)},
	"ppp-peer.tftpl":            {"provider": cty.StringVal("dsl-provider"), "nic": cty.StringVal("eth1"), "user": cty.StringVal("user@isp.example")},
	"ppp-secrets.tftpl":         {"user": cty.StringVal(`us"er\x@isp.example`), "password": cty.StringVal(`pa"ss\word`)}, // pppd unquotes \\ and \"
	"interfaces-pppoe.tftpl":    {"provider": cty.StringVal("dsl-provider"), "nic": cty.StringVal("eth1"), "autostart": cty.True},
	"ppp-ip-up.tftpl":           {"table": cty.NumberIntVal(200), "priority": cty.NumberIntVal(200)},
	"ppp-ip-down.tftpl":         {"table": cty.NumberIntVal(200), "priority": cty.NumberIntVal(200)},
	"nm-dispatcher-pppoe.tftpl": {"connection": cty.StringVal("isp"), "table": cty.NumberIntVal(200), "priority": cty.NumberIntVal(200)},
}

func TestBuiltinTemplatesGolden(t *testing.T) {
	names := BuiltinNames()
	if len(names) != len(builtinVars) {
		t.Fatalf("built-ins %v: every one needs a golden test", names)
	}
	for _, name := range names {
		base := filepath.Base(name)
		vars, ok := builtinVars[base]
		if !ok {
			t.Errorf("no test vars for %s", name)
			continue
		}
		v, diags := eval(t, `templatefile("`+name+`", var)`, vars)
		if diags.HasErrors() {
			t.Errorf("%s: %v", name, diags)
			continue
		}
		got := v.AsString()
		gold := filepath.Join("testdata/golden", strings.TrimSuffix(base, ".tftpl"))
		if *update {
			if err := os.WriteFile(gold, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(gold)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s (go test -update):\n%s", name, gold, got)
		}
		if strings.HasPrefix(got, "#!/bin/sh") {
			if out, err := exec.Command("sh", "-n", gold).CombinedOutput(); err != nil {
				t.Errorf("%s: sh -n: %v %s", name, err, out)
			}
		}
	}
}

func TestPlanDirOverridesBuiltin(t *testing.T) {
	fns := Functions("testdata/override")
	v, err := fns["templatefile"].Call([]cty.Value{cty.StringVal("templates/sshd-hardening.conf.tftpl"),
		cty.ObjectVal(map[string]cty.Value{"port": cty.NumberIntVal(2222)})})
	if err != nil || v.AsString() != "Port 2222 # my own\n" {
		t.Errorf("override: %q %v", v.AsString(), err)
	}
	_, err = fns["templatefile"].Call([]cty.Value{cty.StringVal("templates/nope.tftpl"), cty.EmptyObjectVal})
	if err == nil || !strings.Contains(err.Error(), "templates/{dhcpcd.conf, ") {
		t.Errorf("a missing template should list the built-ins: %v", err)
	}
}

// A missing template gets the built-in it is likely a typo of, or else
// every built-in name; either way the message stays short.
func TestMissingTemplateHint(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ path, want string }{
		{"templates/ppp-per.tftpl", `did you mean the built-in "templates/ppp-peer.tftpl"?`},
		{"templates/nope.tftpl", "built-in templates: templates/{dhcpcd.conf, interfaces-pppoe, nm-dispatcher-pppoe, ppp-ip-down, ppp-ip-up, ppp-peer, ppp-secrets, sshd-hardening.conf}.tftpl"},
	} {
		_, _, err := readTemplate(dir, tc.path)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want it to end with %q", tc.path, err, tc.want)
			continue
		}
		if n := len(err.Error()); n > 300 {
			t.Errorf("%s: message is %d characters: %s", tc.path, n, err)
		}
	}
}

// fakeIP stands in for ip(8): it keeps the rules and routes the
// dispatcher script makes in files ("PRIORITY: from ADDRESS lookup
// TABLE", "TABLE: default dev IFACE") and fails as ip does on a rule that
// is not there; every call is logged.
const fakeIP = `#!/bin/sh
cd "$FAKE_IP_STATE" || exit 9
touch rules routes
echo "$*" >>calls
case "$1 $2" in
"rule add")
  [ "$3 $5 $7" = "from table priority" ] || exit 8
  echo "$8: from $4 lookup $6" >>rules ;;
"rule del")
  [ "$3 $5" = "table priority" ] || exit 8
  grep -q "^$6: .* lookup $4\$" rules || exit 2
  awk -v k="$6:" -v t="$4" 'done || $1 != k || $NF != t { print; next } { done = 1 }' rules >rules.new && mv rules.new rules ;;
"route replace")
  [ "$3 $4 $6" = "default dev table" ] || exit 8
  grep -v "^$7: default " routes >routes.new; mv routes.new routes
  echo "$7: default dev $5" >>routes ;;
"route flush")
  [ "$3" = "table" ] || exit 8
  grep -v "^$4: " routes >routes.new; mv routes.new routes ;;
*) exit 8 ;;
esac
`

// The NetworkManager dispatcher script for PPPoE, run with a stand-in
// for ip as NetworkManager runs it: three "up" events leave one rule and
// one default route in table 200, a new session's address replaces the
// rule, other connections' events touch nothing, "down" removes both.
func TestNMDispatcherScriptIdempotent(t *testing.T) {
	v, diags := eval(t, `templatefile("templates/nm-dispatcher-pppoe.tftpl", var)`,
		map[string]cty.Value{"connection": cty.StringVal("isp"), "table": cty.NumberIntVal(200), "priority": cty.NumberIntVal(200)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dir := t.TempDir()
	script, bin, state := filepath.Join(dir, "90-hako-pppoe"), filepath.Join(dir, "bin"), filepath.Join(dir, "state")
	for _, d := range []string{bin, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(script, []byte(v.AsString()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ip"), []byte(fakeIP), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(id, iface, action, addr string) {
		t.Helper()
		cmd := exec.Command(script, iface, action)
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "FAKE_IP_STATE=" + state, "CONNECTION_ID=" + id,
			"DEVICE_IFACE=eth1", "DEVICE_IP_IFACE=" + iface, "IP4_NUM_ADDRESSES=1", "IP4_ADDRESS_0=" + addr + "/32 100.64.0.1", "IP4_GATEWAY=100.64.0.1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s %s: %v\n%s", id, iface, action, err, out)
		}
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(state, name))
		return string(b)
	}
	for range 3 {
		run("isp", "ppp0", "up", "100.64.0.2")
	}
	if rules, routes := read("rules"), read("routes"); rules != "200: from 100.64.0.2 lookup 200\n" || routes != "200: default dev ppp0\n" {
		t.Errorf("after three up events:\nrules %q\nroutes %q", rules, routes)
	}
	run("isp", "ppp0", "up", "100.64.0.3")
	if rules := read("rules"); rules != "200: from 100.64.0.3 lookup 200\n" {
		t.Errorf("after a session with a new address: rules %q", rules)
	}
	calls := read("calls")
	run("preconfigured", "wlan0", "up", "192.168.0.64")
	run("preconfigured", "wlan0", "down", "192.168.0.64")
	run("isp", "ppp0", "dhcp4-change", "100.64.0.3")
	if read("calls") != calls {
		t.Errorf("another connection's or event's run called ip: %q", strings.TrimPrefix(read("calls"), calls))
	}
	run("isp", "ppp0", "down", "100.64.0.3")
	if rules, routes := read("rules"), read("routes"); rules != "" || routes != "" {
		t.Errorf("after down: rules %q routes %q", rules, routes)
	}
}

// A connection name with a quote stays one shell word.
func TestNMDispatcherScriptQuotesTheName(t *testing.T) {
	v, diags := eval(t, `templatefile("templates/nm-dispatcher-pppoe.tftpl", var)`,
		map[string]cty.Value{"connection": cty.StringVal("it's $(id)"), "table": cty.NumberIntVal(200), "priority": cty.NumberIntVal(200)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	script := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(script, []byte(v.AsString()), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "ppp0", "up")
	cmd.Env = []string{"PATH=/nonexistent", "CONNECTION_ID=it's $(id)", "IP4_ADDRESS_0=100.64.0.2/32 100.64.0.1"}
	// With the name matched and no ip on PATH, the script fails at ip:
	// the name was compared as one word.
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "ip") {
		t.Errorf("%v: %s", err, out)
	}
}
