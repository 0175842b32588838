package ufw

import (
	"bytes"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/fuzzbound"
)

// scenarioFile is a file of a captured scenario, empty when missing.
func scenarioFile(f *testing.F, name, file string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name, file))
	if err != nil && !os.IsNotExist(err) {
		f.Fatal(err)
	}
	return b
}

// FuzzHostState reads any ufw files and any answer of the kernel probe,
// as NewHost does: no panic, an answer within a bound; a host read
// without error has valid policies, a status ufw could report, and prints
// as `ufw status verbose` would.
func FuzzHostState(f *testing.F) {
	for _, s := range ufwScenarios {
		f.Add(scenarioFile(f, s, "default-ufw"), []byte("ENABLED=yes\nLOGLEVEL=low\n"), scenarioFile(f, s, "user.rules"), scenarioFile(f, s, "user6.rules"), "input output forward", "input", 0, "1")
	}
	f.Add([]byte("IPV6=yes\rDEFAULT_INPUT_POLICY=\"DROP\"\r\nDEFAULT_OUTPUT_POLICY=ACCEPT\nDEFAULT_FORWARD_POLICY=reject\nDEFAULT_APPLICATION_POLICY=SKIP"),
		[]byte("ENABLED=\"yes\"\nİPV6=no\nLOGLEVEL='low'\n"), []byte("### tuple ### allow any 22 0.0.0.0/0 any 0.0.0.0/0 in comment=zz\n"), []byte("\xff"), "output", "", 4, "-")
	f.Fuzz(func(t *testing.T, defaults, conf, v4, v6 []byte, chains4, chains6 string, exit int, fwd string) {
		defer fuzzbound.Start()()
		k := Kernel{Installed: true, IPv6: exit%2 == 0, Exit4: exit, Exit6: exit / 2, Chains4: strings.Fields(chains4), Chains6: strings.Fields(chains6),
			Sysctl: map[string]string{"ipv4/ip_forward": fwd}}
		h, err := NewHost(k, HostFiles{Defaults: defaults, Conf: conf, Rules: v4, Rules6: v6})
		if err != nil {
			if err.Error() == "" {
				t.Error("an empty error")
			}
			return
		}
		for _, p := range []string{h.Defaults.Incoming, h.Defaults.Outgoing, h.Defaults.Routed} {
			if p != "allow" && p != "deny" && p != "reject" {
				t.Errorf("policy %q: %+v", p, h.Defaults)
			}
		}
		if h.Status.Active && exit != 0 {
			t.Errorf("active though iptables failed: %+v", h.Status)
		}
		out := h.StatusVerbose()
		if h.Status.Active != strings.HasPrefix(out, "Status: active\n") {
			t.Errorf("status %+v prints %q", h.Status, out)
		}
		_ = h.Summary(true)
	})
}

// FuzzUserRules reads any user.rules and user6.rules, then works out a
// plan's firewall over those rules, exclusive or not, and checks it for
// lockout: no panic, an answer within a bound; every rule read has one of
// ufw's actions; the commands hako would run are whole words.
func FuzzUserRules(f *testing.F) {
	for _, s := range ufwScenarios {
		f.Add(scenarioFile(f, s, "user.rules"), scenarioFile(f, s, "user6.rules"), false)
	}
	f.Add([]byte("### tuple ### allow_log-all tcp 22 0.0.0.0/0 any 10.0.0.0/8 in_eth0 comment=6869\n"),
		[]byte("### tuple ### route:deny any any ::/0 any ::/0 OpenSSH - in!out_eth1\n### tuple ### limit udp 53 ::/0 1 fd00::/8 - DNS%20x out_wg0\n"), true)
	f.Fuzz(func(t *testing.T, v4, v6 []byte, exclusive bool) {
		defer fuzzbound.Start()()
		k := Kernel{Installed: true, IPv6: true, Chains4: Chains, Chains6: Chains, Sysctl: map[string]string{"ipv4/ip_forward": "0"}}
		h, err := NewHost(k, HostFiles{Defaults: []byte(testDefaults), Conf: []byte("ENABLED=yes\n"), Rules: v4, Rules6: v6})
		if err != nil {
			return
		}
		for fam, l := range h.Lists {
			for _, r := range l {
				switch r.Action {
				case "allow", "deny", "reject", "limit":
				default:
					t.Errorf("%s rule with action %q: %+v", fam, r.Action, r)
				}
			}
		}
		_ = h.Summary(true)
		cv, err := Converge(h, goal(t, exclusive, seedRules...))
		if err != nil {
			return
		}
		for _, cmd := range append(append([][]string{}, cv.Before...), cv.Cmds...) {
			for _, a := range cmd {
				if a == "" {
					t.Errorf("command with an empty argument: %q", cmd)
				}
			}
		}
		for _, c := range []string{"192.168.0.10", "10.9.1.1", "fd00::1"} {
			_ = cv.Lockout(netip.MustParseAddr(c), 22)
		}
		_ = cv.Summary()
	})
}

// FuzzDefaultFile reads any /etc/default/ufw and sets IPV6 in it: after
// SetIPv6 the file reads as that setting with its policies unchanged,
// and setting it again changes nothing.
func FuzzDefaultFile(f *testing.F) {
	for _, s := range ufwScenarios {
		f.Add(scenarioFile(f, s, "default-ufw"), true)
	}
	f.Add([]byte("IPV6=\"YES\"\nDEFAULT_INPUT_POLICY='ACCEPT'\n IPV6 = no \r\nIPV6"), false)
	f.Fuzz(func(t *testing.T, data []byte, on bool) {
		defer fuzzbound.Start()()
		before, err := ParseSettings(NamedFile{DefaultsPath, data})
		if err != nil {
			return
		}
		set := SetIPv6(data, on)
		after, err := ParseSettings(NamedFile{DefaultsPath, set})
		if err != nil {
			t.Fatalf("SetIPv6 made %q unreadable: %v", set, err)
		}
		delete(before, "ipv6")
		if (after["ipv6"] == "yes") != on || !maps.Equal(before, withoutIPv6(after)) {
			t.Errorf("SetIPv6(%v) read back as %+v (before %+v):\n%q", on, after, before, set)
		}
		if again := SetIPv6(set, on); !bytes.Equal(again, set) {
			t.Errorf("SetIPv6 twice:\n%q\n%q", set, again)
		}
	})
}

// FuzzNormalize: a port list or source that NormalizePorts or
// NormalizeSource accepts is written the way ufw stores it, so writing it
// again gives the same text.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"22", "6000:6007", "443,80,22", "080", " 22 , 80:90", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15",
		"any", "192.168.0.5/24", "::/0", "0.0.0.0/0", "fe80::1%eth0", "::ffff:1.2.3.4", "10.0.0.1/32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		defer fuzzbound.Start()()
		if p, err := NormalizePorts(s); err == nil {
			if q, err := NormalizePorts(p); err != nil || q != p {
				t.Errorf("ports %q -> %q -> %q, %v", s, p, q, err)
			}
		}
		if src, fam, err := NormalizeSource(s); err == nil {
			if again, fam2, err := NormalizeSource(src); err != nil || again != src || fam2 != fam && src != "any" {
				t.Errorf("source %q -> %q (%v) -> %q (%v), %v", s, src, fam, again, fam2, err)
			}
		}
	})
}

// testDefaults is a valid /etc/default/ufw, as Debian ships it in short.
const testDefaults = "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nDEFAULT_FORWARD_POLICY=\"DROP\"\nDEFAULT_APPLICATION_POLICY=\"SKIP\"\n"

func withoutIPv6(s Settings) Settings {
	out := maps.Clone(s)
	delete(out, "ipv6")
	return out
}
