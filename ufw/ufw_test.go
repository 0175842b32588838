package ufw

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The captured scenarios in testdata (see capture.sh there): what a real
// bookworm test host's ufw 0.36.2 said.
var ufwScenarios = []string{"not-installed", "inactive-fresh", "inactive-seed", "active-seed", "active-mixed", "active-ipv6-off"}

// ufwHostFiles is what ufw said and kept on a host: `ufw status verbose`
// and its exit status, and the files by path (absent: missing).
type ufwHostFiles struct {
	status     string
	statusExit int
	files      map[string]string
}

func loadScenario(t *testing.T, name string) ufwHostFiles {
	t.Helper()
	dir := filepath.Join("testdata", name)
	read := func(f string) (string, bool) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(b), true
	}
	hf := ufwHostFiles{files: map[string]string{}}
	hf.status, _ = read("status.txt")
	code, _ := read("status.exit")
	var err error
	if hf.statusExit, err = strconv.Atoi(strings.TrimSpace(code)); err != nil {
		t.Fatalf("%s: status.exit: %v", name, err)
	}
	for f, path := range map[string]string{"default-ufw": DefaultsPath, "user.rules": RulesPath, "user6.rules": Rules6Path} {
		if s, ok := read(f); ok {
			hf.files[path] = s
		}
	}
	// ufw.conf was not captured: it says ENABLED as the status did, and
	// LOGLEVEL=low, as the captured statuses show.
	if _, ok := hf.files[DefaultsPath]; ok {
		hf.files[ConfPath] = "ENABLED=no\nLOGLEVEL=low\n"
		if hf.active() {
			hf.files[ConfPath] = "ENABLED=yes\nLOGLEVEL=low\n"
		}
	}
	return hf
}

func (hf ufwHostFiles) active() bool { return strings.HasPrefix(hf.status, "Status: active\n") }

// kernel is what the ufw probe finds on the host the scenario was
// captured on: ufw installed unless the shell found no ufw command (exit
// status 127), its chains loaded when the status said active, no
// forwarding (the test hosts do not forward).
func (hf ufwHostFiles) kernel() Kernel {
	k := Kernel{IPv6: true, Installed: hf.statusExit != 127, Exit4: -1, Exit6: -1,
		Sysctl: map[string]string{"ipv4/ip_forward": "0", "ipv6/conf/default/forwarding": "0", "ipv6/conf/all/forwarding": "0"}}
	if k.Installed {
		k.Exit4 = 0
	}
	if hf.active() {
		k.Chains4, k.Exit6, k.Chains6 = Chains, 0, Chains
	}
	return k
}

// hostFiles are the scenario's files as the probe reads them.
func (hf ufwHostFiles) hostFiles() HostFiles {
	return HostFiles{Defaults: []byte(hf.files[DefaultsPath]), Conf: []byte(hf.files[ConfPath]),
		Rules: []byte(hf.files[RulesPath]), Rules6: []byte(hf.files[Rules6Path])}
}

// with returns a copy of hf with rule tuples appended to a rules file.
func (hf ufwHostFiles) with(path string, tuples ...string) ufwHostFiles {
	out := hf
	out.files = map[string]string{}
	for k, v := range hf.files {
		out.files[k] = v
	}
	for _, tu := range tuples {
		out.files[path] += "### tuple ### " + tu + "\n"
	}
	return out
}

// host reads hf as the task does.
func (hf ufwHostFiles) host(t *testing.T) *Host {
	t.Helper()
	h, err := NewHost(hf.kernel(), hf.hostFiles())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// spec is a rule as a plan writes it; "" is the attribute left out.
type spec struct{ action, proto, port, from, comment string }

// goal is the firewall of a plan with these rules, enabled, default deny
// incoming and allow outgoing, IPv6 on: the task's defaults. The rules are
// normalised and given their families as the task does.
func goal(t *testing.T, exclusive bool, rules ...spec) *Goal {
	t.Helper()
	g := &Goal{Enabled: true, Incoming: "deny", Outgoing: "allow", IPv6: true, Exclusive: exclusive}
	for i, s := range rules {
		r := &PlanRule{N: i + 1, Action: "allow", Proto: "any", Port: "any", From: "any", Comment: s.comment, Families: []Family{V4, V6}}
		for _, v := range []struct {
			to *string
			s  string
		}{{&r.Action, s.action}, {&r.Proto, s.proto}} {
			if v.s != "" {
				*v.to = v.s
			}
		}
		if s.port != "" {
			p, err := NormalizePorts(s.port)
			if err != nil {
				t.Fatal(err)
			}
			r.Port = p
		}
		if s.from != "" {
			from, fam, err := NormalizeSource(s.from)
			if err != nil {
				t.Fatal(err)
			}
			if fam != 0 {
				r.From, r.Families, r.FamAny = from, []Family{fam}, from == "any"
			}
		}
		g.Rules = append(g.Rules, r)
	}
	return g
}

// seedAsOnHost is a firewall the way the captured host has it (`ufw allow
// 22`: any protocol, no comment): SSH, 80 and 443 from anywhere, VNC from
// the LAN only.
var seedAsOnHost = []spec{{port: "22"}, {port: "5900", from: "192.168.0.0/24"}, {port: "80"}, {port: "443"}}

// seedRules is the same with SSH as tcp only, and a comment.
var seedRules = []spec{{port: "22", proto: "tcp", comment: "ssh"}, {port: "5900", from: "192.168.0.0/24"}, {port: "80"}, {port: "443"}}

// converge works out g on hf; with client set, it also checks that the
// result lets SSH on port 22 in from there, as the task refuses otherwise.
func converge(t *testing.T, g *Goal, hf ufwHostFiles, client string) *Convergence {
	t.Helper()
	cv, err := Converge(hf.host(t), g)
	if err != nil {
		t.Fatalf("converge: %v", err)
	}
	if client != "" && len(cv.Changes) > 0 {
		if why := cv.Lockout(netip.MustParseAddr(client), 22); why != "" {
			t.Fatalf("lockout: %s", why)
		}
	}
	return cv
}

func attrLines(cv *Convergence) []string {
	var out []string
	for _, a := range cv.Changes {
		out = append(out, fmt.Sprintf("%s: %q → %q", a.Name, a.Before, a.After))
	}
	return out
}

func cmdLines(cv *Convergence) []string {
	var out []string
	for _, cmd := range append(append([][]string{}, cv.Before...), cv.Cmds...) {
		out = append(out, strings.Join(cmd, " "))
	}
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Parsing: every captured scenario, read from its files as the probe
// reads them, prints as `ufw status verbose` printed it (its rules, their
// order, ports, addresses, interfaces, comments; the policies, logging),
// and every rule renders as `ufw show added` printed it.
func TestUFWParseCaptured(t *testing.T) {
	wantStatus := map[string]Status{
		"not-installed":   {},
		"inactive-fresh":  {Installed: true},
		"inactive-seed":   {Installed: true},
		"active-seed":     {Installed: true, Active: true, Enabled: true},
		"active-mixed":    {Installed: true, Active: true, Enabled: true},
		"active-ipv6-off": {Installed: true, Active: true, Enabled: true},
	}
	for _, name := range ufwScenarios {
		t.Run(name, func(t *testing.T) {
			hf := loadScenario(t, name)
			h := hf.host(t)
			if h.Status != wantStatus[name] {
				t.Errorf("status %+v, want %+v", h.Status, wantStatus[name])
			}
			if name != "not-installed" {
				sameLines(t, "ufw status verbose", strings.Split(h.StatusVerbose()+"\n", "\n"), strings.Split(hf.status, "\n"))
			}
			var got []string
			for _, r := range mergeFamilies(h.Lists, true) {
				got = append(got, "ufw "+ruleCommand(r, ""))
			}
			var want []string
			if b, err := os.ReadFile(filepath.Join("testdata", name, "show-added.txt")); err == nil {
				for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
					if l != "(None)" {
						want = append(want, l)
					}
				}
			}
			sameLines(t, "rules as ufw show added prints them", got, want)
		})
	}
}

func TestUFWParseMixedDetails(t *testing.T) {
	hf := loadScenario(t, "active-mixed")
	v4, err := ParseUserRules([]byte(hf.files[RulesPath]))
	if err != nil {
		t.Fatal(err)
	}
	v6, err := ParseUserRules([]byte(hf.files[Rules6Path]))
	if err != nil {
		t.Fatal(err)
	}
	if len(v4) != 18 || len(v6) != 14 {
		t.Fatalf("%d IPv4 and %d IPv6 rules, want 18 and 14", len(v4), len(v6))
	}
	want := map[string]Rule{
		"first v4, inserted": {Key: Key{Proto: "tcp", DPort: "22", Dst: "any", SPort: "any", Src: "10.9.0.0/16", Dir: "in"}, Action: "deny"},
		"limit with comment": {Key: Key{Proto: "tcp", DPort: "2222", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "limit", Comment: "ssh alt"},
		"interface":          {Key: Key{Proto: "any", DPort: "99", Dst: "any", SPort: "any", Src: "any", Dir: "in", IfaceIn: "eth0"}, Action: "allow"},
		"out":                {Key: Key{Proto: "any", DPort: "53", Dst: "any", SPort: "any", Src: "any", Dir: "out"}, Action: "allow"},
		"log":                {Key: Key{Proto: "tcp", DPort: "98", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "allow", Log: "log"},
		"route":              {Key: Key{Proto: "any", DPort: "95", Dst: "any", SPort: "any", Src: "any", Dir: "in", Route: true}, Action: "allow"},
		"app":                {Key: Key{Proto: "tcp", DPort: "22", Dst: "any", SPort: "any", Src: "any", Dir: "in", DApp: "OpenSSH"}, Action: "allow"},
		"unicode comment":    {Key: Key{Proto: "udp", DPort: "94", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "allow", Comment: "ünïcode"},
	}
	got := map[string]Rule{"first v4, inserted": v4[0], "limit with comment": v4[5], "interface": v4[10], "out": v4[11],
		"log": v4[12], "route": v4[13], "app": v4[14], "unicode comment": v4[17]}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %+v, want %+v", k, got[k], w)
		}
	}
	// The IPv6-only rules in their real places: `ufw show added` prints them last.
	if v6[1].Action != "deny" || v6[1].DPort != "8081" || v6[5].Action != "reject" || v6[5].Src != "fd00::/8" {
		t.Errorf("IPv6 order lost: %+v, %+v", v6[1], v6[5])
	}
}

func TestUFWDefaultsFile(t *testing.T) {
	hf := loadScenario(t, "active-ipv6-off")
	data := []byte(hf.files[DefaultsPath])
	read := func(data ...[]byte) Defaults {
		t.Helper()
		var files []NamedFile
		for _, d := range data {
			files = append(files, NamedFile{DefaultsPath, d})
		}
		set, err := ParseSettings(files...)
		if err != nil {
			t.Fatal(err)
		}
		d, err := set.defaults()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := read(data); d != (Defaults{IPv6: false, Incoming: "deny", Outgoing: "reject", Routed: "deny", AppPolicy: "skip"}) {
		t.Errorf("defaults %+v", d)
	}
	on := SetIPv6(data, true)
	if !read(on).IPv6 {
		t.Error("IPV6 not set")
	}
	// Only the IPV6 line changes.
	a, b := strings.Split(string(data), "\n"), strings.Split(string(on), "\n")
	if len(a) != len(b) {
		t.Fatalf("line count %d → %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] == "IPV6=no" && b[i] == "IPV6=yes") {
			t.Errorf("line %d changed: %q → %q", i+1, a[i], b[i])
		}
	}
	for in, want := range map[string]string{
		"# nothing\nFOO=1":          "# nothing\nFOO=1",             // no IPV6 is no for ufw
		"IPV6=yes\nipv6=yes\n":      "IPV6=no\nipv6=yes\nIPV6=no\n", // ufw reads the last one
		"IPV6=yes\rFOO=1\n":         "IPV6=yes\rFOO=1\nIPV6=no\n",   // two lines for ufw
		" IPV6 = yes \r\nBAR=2\r\n": "IPV6=no\r\nBAR=2\r\n",
	} {
		if got := string(SetIPv6([]byte(in), false)); got != want {
			t.Errorf("SetIPv6(%q, false) = %q, want %q", in, got, want)
		}
	}
	if got := string(SetIPv6([]byte("# nothing\nFOO=1"), true)); got != "# nothing\nFOO=1\nIPV6=yes\n" {
		t.Errorf("append to a file without IPV6: %q", got)
	}
}

// Settings are read as ufw reads them (_get_defaults): only lines that
// start with NAME= and a word, double quotes trimmed, ufw.conf over
// /etc/default/ufw, names and values in lower case; Python's universal
// newlines; not UTF-8 is an error, as ufw fails on it.
func TestUFWSettings(t *testing.T) {
	set, err := ParseSettings(
		NamedFile{DefaultsPath, []byte("IPV6=\"YES\"\nDEFAULT_INPUT_POLICY='ACCEPT'\n DEFAULT_OUTPUT_POLICY=ACCEPT\nDEFAULT_FORWARD_POLICY=\"REJECT\" # x\rLOGLEVEL=high\r\nA=b=c\nENABLED=yes\nX=\n")},
		NamedFile{ConfPath, []byte("ENABLED=no\nLoglevel=medium")})
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{"ipv6": "yes", "default_forward_policy": `reject" # x`, "loglevel": "medium", "a": "b", "enabled": "no"}
	if !maps.Equal(set, want) {
		t.Errorf("settings %q, want %q", set, want)
	}
	for _, c := range []struct{ file, err string }{
		{"DEFAULT_INPUT_POLICY=DROP\nDEFAULT_OUTPUT_POLICY=ACCEPT\nDEFAULT_APPLICATION_POLICY=SKIP\n", "no DEFAULT_FORWARD_POLICY"},
		{testDefaults + "DEFAULT_OUTPUT_POLICY=allow\n", `DEFAULT_OUTPUT_POLICY is "allow"`},
		{strings.ReplaceAll(testDefaults, "DEFAULT_APPLICATION_POLICY", "#"), "no DEFAULT_APPLICATION_POLICY"},
		{testDefaults + "\xff\n", "not UTF-8"},
	} {
		_, err := NewHost(Kernel{Installed: true, Exit4: 0}, HostFiles{Defaults: []byte(c.file)})
		if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), DefaultsPath) {
			t.Errorf("%q: %v, want %q", c.file, err, c.err)
		}
	}
}

// New rules keep the plan's order around the rules the host already has:
// a deny declared before an existing allow goes before it, per family.
func TestUFWInsertsInPlanOrder(t *testing.T) {
	g := goal(t, false, append([]spec{
		{port: "22", proto: "tcp", from: "10.9.0.0/16", action: "deny"},
		{port: "22", proto: "tcp", from: "fd00::/8", action: "deny"},
		{port: "8081", proto: "tcp", action: "reject"},
	}, seedAsOnHost...)...)
	cv := converge(t, g, loadScenario(t, "active-seed"), "10.213.0.1")
	sameLines(t, "commands", cmdLines(cv), []string{
		"insert 1 deny from 10.9.0.0/16 to any port 22 proto tcp",
		"insert 6 deny from fd00::/8 to any port 22 proto tcp", // 5 IPv4 rules now, then the first IPv6 one
		"insert 2 reject from 0.0.0.0/0 to any port 8081 proto tcp",
		"insert 8 reject from ::/0 to any port 8081 proto tcp",
	})
	var v4, v6 []string
	for _, e := range cv.Final[V4] {
		v4 = append(v4, describeRule(e.Rule, nil, false))
	}
	for _, e := range cv.Final[V6] {
		v6 = append(v6, describeRule(e.Rule, nil, false))
	}
	sameLines(t, "IPv4 rules after", v4, []string{"deny 22/tcp from 10.9.0.0/16", "reject 8081/tcp from any", "allow 22 from any",
		"allow 5900 from 192.168.0.0/24", "allow 80 from any", "allow 443 from any"})
	sameLines(t, "IPv6 rules after", v6, []string{"deny 22/tcp from fd00::/8", "reject 8081/tcp from any", "allow 22 from any",
		"allow 80 from any", "allow 443 from any"})
	// Once done, the same plan has nothing to do.
	if again := converge(t, g, hostAfter(loadScenario(t, "active-seed"), cv), ""); len(again.Changes) > 0 {
		t.Errorf("not idempotent: %v", attrLines(again))
	}
}

// hostAfter is hf with the rules files as cv leaves them (what ufw writes,
// tuple by tuple) and /etc/default/ufw as cv writes it.
func hostAfter(hf ufwHostFiles, cv *Convergence) ufwHostFiles {
	out := hf.with(RulesPath)
	for f, path := range map[Family]string{V4: RulesPath, V6: Rules6Path} {
		var b strings.Builder
		zero := f.anyAddr()
		for _, e := range cv.Final[f] {
			addr := func(a string) string {
				if a == "any" {
					return zero
				}
				return a
			}
			action := e.Action
			if e.Log != "" {
				action += "_" + e.Log
			}
			if e.Route {
				action = "route:" + action
			}
			dir := e.Dir
			if e.IfaceIn != "" {
				dir += "_" + e.IfaceIn
			}
			fmt.Fprintf(&b, "### tuple ### %s %s %s %s %s %s %s", action, e.Proto, e.DPort, addr(e.Dst), e.SPort, addr(e.Src), dir)
			if e.Comment != "" {
				fmt.Fprintf(&b, " comment=%x", e.Comment)
			}
			b.WriteString("\n")
		}
		out.files[path] = b.String()
	}
	if cv.Defaults != nil {
		out.files[DefaultsPath] = string(cv.Defaults)
	}
	return out
}

// Port lists are sorted as ufw's human_sort stores them, so that a plan's
// list matches the host's: by first port, a single port before a range
// from it, shorter ranges first.
func TestUFWPortOrderAsUFW(t *testing.T) {
	for in, want := range map[string]string{
		"80:90,80":          "80,80:90",
		"80:95,80:90,80,79": "79,80,80:90,80:95",
		"443,80,022":        "22,80,443",
		"9000:9010,81,8000": "81,8000,9000:9010",
	} {
		if got, err := NormalizePorts(in); err != nil || got != want {
			t.Errorf("NormalizePorts(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// The host as ufw left it after `ufw allow 80:90,80/tcp`: nothing to do.
	hf := loadScenario(t, "active-seed").with(RulesPath, "allow tcp 80,80:90 0.0.0.0/0 any 0.0.0.0/0 in").
		with(Rules6Path, "allow tcp 80,80:90 ::/0 any ::/0 in")
	g := goal(t, true, append(seedAsOnHost, spec{port: "80:90,80", proto: "tcp"})...)
	if cv := converge(t, g, hf, ""); len(cv.Changes) > 0 || len(cmdLines(cv)) > 0 {
		t.Errorf("not idempotent: %v %v", attrLines(cv), cmdLines(cv))
	}
}
