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
		{"templates/nope.tftpl", "built-in templates: templates/{dhcpcd.conf, interfaces-pppoe, ppp-ip-down, ppp-ip-up, ppp-peer, ppp-secrets, sshd-hardening.conf}.tftpl"},
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
