package tasks

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The captured scenarios in testdata/ufw (see capture.sh there): what a
// real bookworm test host's ufw 0.36.2 said.
var ufwScenarios = []string{"not-installed", "inactive-fresh", "inactive-seed", "active-seed", "active-mixed", "active-ipv6-off"}

// ufwHostFiles is what the ufw probes read, by probe argument, plus the
// status command's exit status.
type ufwHostFiles struct {
	status     string
	statusExit int
	files      map[string]string // path → content; absent: missing
	noIPv6     bool              // the kernel has no IPv6: /proc/sys/net/ipv6 is missing
}

func loadScenario(t *testing.T, name string) ufwHostFiles {
	t.Helper()
	dir := filepath.Join("testdata", "ufw", name)
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
	for f, path := range map[string]string{"default-ufw": ufwDefaultsPath, "user.rules": ufwRulesPath, "user6.rules": ufwRules6Path} {
		if s, ok := read(f); ok {
			hf.files[path] = s
		}
	}
	return hf
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

// state answers task's probes from hf, as the probe script would.
func (hf ufwHostFiles) state(t *testing.T, task Task, ep hosts.Endpoint) *State {
	t.Helper()
	_, order := Script(task.Probes())
	var b strings.Builder
	for i, p := range order {
		data, ok := hf.files[p.Arg]
		switch p.Kind {
		case ProbeOut:
			fmt.Fprintf(&b, "O %d %d %s\n", i, hf.statusExit, base64.StdEncoding.EncodeToString([]byte(hf.status)))
		case ProbeStat:
			switch {
			case p.Arg == ufwKernelIPv6 && !hf.noIPv6:
				fmt.Fprintf(&b, "S %d directory\t555\troot\troot\t0\t0\t0\n", i)
			case ok:
				fmt.Fprintf(&b, "S %d regular file\t644\troot\troot\t0\t0\t%d\n", i, len(data))
			default:
				fmt.Fprintf(&b, "S %d -\n", i)
			}
		case ProbeRead:
			if ok {
				fmt.Fprintf(&b, "C %d %s\n", i, base64.StdEncoding.EncodeToString([]byte(data)))
			} else {
				fmt.Fprintf(&b, "C %d -\n", i)
			}
		default:
			t.Fatalf("unexpected probe %+v", p)
		}
	}
	st, err := ParseAnswers([]byte(b.String()), order)
	if err != nil {
		t.Fatal(err)
	}
	st.Endpoint = ep
	return st
}

// decodeUFWPlan decodes the first task block of src the way the plan
// package does (nested rule blocks included), with literal values.
func decodeUFWPlan(t *testing.T, src string) (*UFW, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "plan.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "task", LabelNames: []string{"kind", "name"}}}})
	if diags.HasErrors() || len(content.Blocks) == 0 {
		t.Fatalf("no task block: %v", diags)
	}
	b := content.Blocks[0]
	k, _ := LookupKind("ufw")
	evalAttrs := func(hattrs hcl.Attributes, blk *hcl.Block) *attrs.Attrs {
		a := &attrs.Attrs{Kind: "ufw", Name: b.Labels[1], Decl: blk.DefRange, Items: map[string]attrs.Attr{}}
		for name, at := range hattrs {
			v, d := at.Expr.Value(nil)
			diags = diags.Extend(d)
			a.Items[name] = attrs.Attr{Value: v, Range: at.Expr.Range()}
		}
		return a
	}
	bc, d := b.Body.Content(k.Schema)
	diags = diags.Extend(d)
	a := evalAttrs(bc.Attributes, b)
	for _, nb := range bc.Blocks {
		nc, d := nb.Body.Content(k.BlockSchemas[nb.Type])
		diags = diags.Extend(d)
		if a.Blocks == nil {
			a.Blocks = map[string][]*attrs.Attrs{}
		}
		a.Blocks[nb.Type] = append(a.Blocks[nb.Type], evalAttrs(nc.Attributes, nb))
	}
	task := k.Decode(a)
	diags = diags.Extend(a.Diags)
	for _, na := range a.Blocks["rule"] {
		diags = diags.Extend(na.Diags)
	}
	return task.(*UFW), diags
}

func mustUFW(t *testing.T, body string) *UFW {
	t.Helper()
	u, diags := decodeUFWPlan(t, "task \"ufw\" \"firewall\" {\n"+body+"\n}\n")
	if diags.HasErrors() {
		t.Fatalf("decode: %v", diags)
	}
	return u
}

// seedRules is the seed's firewall: SSH, 80 and 443 from anywhere, VNC
// from the LAN only.
const seedRules = `
  rule {
    port  = 22
    proto = "tcp"
    comment = "ssh"
  }
  rule {
    port = 5900
    from = "192.168.0.0/24"
  }
  rule { port = 80 }
  rule { port = "443" }
`

// seedAsOnHost is the seed written the way the captured host has it
// (`ufw allow 22`: any protocol, no comment).
const seedAsOnHost = `
  rule { port = 22 }
  rule {
    port = 5900
    from = "192.168.0.0/24"
  }
  rule { port = 80 }
  rule { port = "443" }
`

var noEndpoint = hosts.Endpoint{}

func checkUFW(t *testing.T, u *UFW, hf ufwHostFiles, ep hosts.Endpoint) *Change {
	t.Helper()
	c, err := u.Check(hf.state(t, u, ep))
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return c
}

func attrLines(c *Change) []string {
	var out []string
	for _, a := range c.Attrs {
		out = append(out, fmt.Sprintf("%s: %q → %q", a.Name, a.Before, a.After))
	}
	return out
}

func cmdLines(c *Change) []string {
	cv := c.detail.(*ufwConvergence)
	var out []string
	for _, cmd := range append(append([][]string{}, cv.before...), cv.cmds...) {
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

// Parsing: every captured rules file renders, rule for rule, as `ufw show
// added` printed it, and the status says what it said.
func TestUFWParseCaptured(t *testing.T) {
	wantStatus := map[string]ufwStatus{
		"not-installed":   {},
		"inactive-fresh":  {Installed: true},
		"inactive-seed":   {Installed: true},
		"active-seed":     {Installed: true, Active: true, Incoming: "deny", Outgoing: "allow"},
		"active-mixed":    {Installed: true, Active: true, Incoming: "deny", Outgoing: "reject"},
		"active-ipv6-off": {Installed: true, Active: true, Incoming: "deny", Outgoing: "reject"},
	}
	for _, name := range ufwScenarios {
		t.Run(name, func(t *testing.T) {
			hf := loadScenario(t, name)
			st, err := parseStatus(Output{ExitCode: hf.statusExit, Stdout: []byte(hf.status)})
			if err != nil {
				t.Fatal(err)
			}
			if st != wantStatus[name] {
				t.Errorf("status %+v, want %+v", st, wantStatus[name])
			}
			lists := map[ufwFamily][]ufwRule{}
			for f, path := range map[ufwFamily]string{famV4: ufwRulesPath, famV6: ufwRules6Path} {
				if lists[f], err = parseUserRules([]byte(hf.files[path])); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, r := range mergeFamilies(lists, true) {
				got = append(got, "ufw "+ufwCommand(r, ""))
			}
			var want []string
			if b, err := os.ReadFile(filepath.Join("testdata", "ufw", name, "show-added.txt")); err == nil {
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
	v4, err := parseUserRules([]byte(hf.files[ufwRulesPath]))
	if err != nil {
		t.Fatal(err)
	}
	v6, err := parseUserRules([]byte(hf.files[ufwRules6Path]))
	if err != nil {
		t.Fatal(err)
	}
	if len(v4) != 18 || len(v6) != 14 {
		t.Fatalf("%d IPv4 and %d IPv6 rules, want 18 and 14", len(v4), len(v6))
	}
	want := map[string]ufwRule{
		"first v4, inserted": {ufwKey: ufwKey{Proto: "tcp", DPort: "22", Dst: "any", SPort: "any", Src: "10.9.0.0/16", Dir: "in"}, Action: "deny"},
		"limit with comment": {ufwKey: ufwKey{Proto: "tcp", DPort: "2222", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "limit", Comment: "ssh alt"},
		"interface":          {ufwKey: ufwKey{Proto: "any", DPort: "99", Dst: "any", SPort: "any", Src: "any", Dir: "in", IfaceIn: "eth0"}, Action: "allow"},
		"out":                {ufwKey: ufwKey{Proto: "any", DPort: "53", Dst: "any", SPort: "any", Src: "any", Dir: "out"}, Action: "allow"},
		"log":                {ufwKey: ufwKey{Proto: "tcp", DPort: "98", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "allow", Log: "log"},
		"route":              {ufwKey: ufwKey{Proto: "any", DPort: "95", Dst: "any", SPort: "any", Src: "any", Dir: "in", Route: true}, Action: "allow"},
		"app":                {ufwKey: ufwKey{Proto: "tcp", DPort: "22", Dst: "any", SPort: "any", Src: "any", Dir: "in", DApp: "OpenSSH"}, Action: "allow"},
		"unicode comment":    {ufwKey: ufwKey{Proto: "udp", DPort: "94", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "allow", Comment: "ünïcode"},
	}
	got := map[string]ufwRule{"first v4, inserted": v4[0], "limit with comment": v4[5], "interface": v4[10], "out": v4[11],
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
	data := []byte(hf.files[ufwDefaultsPath])
	d := parseDefaultFile(data)
	if d != (ufwDefaults{IPv6: false, Incoming: "deny", Outgoing: "reject"}) {
		t.Errorf("defaults %+v", d)
	}
	on := setIPv6(data, true)
	if !parseDefaultFile(on).IPv6 {
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
	if got := string(setIPv6([]byte("# nothing\nFOO=1"), false)); got != "# nothing\nFOO=1\nIPV6=no\n" {
		t.Errorf("append to a file without IPV6: %q", got)
	}
	if d := parseDefaultFile([]byte("IPV6=\"YES\"\nDEFAULT_INPUT_POLICY='ACCEPT'\n")); !d.IPv6 || d.Incoming != "allow" {
		t.Errorf("quoted values: %+v", d)
	}
}

// The seed's firewall on a fresh card: enable, with every rule added
// in one go, then the default, then enable.
func TestUFWCheckFreshCard(t *testing.T) {
	u := mustUFW(t, `exclusive = true`+seedRules)
	c := checkUFW(t, u, loadScenario(t, "inactive-fresh"), noEndpoint)
	if c.Action != Create || c.Summary != "enable ufw: 4 rules, default deny incoming, allow outgoing" {
		t.Errorf("action %v, summary %q", c.Action, c.Summary)
	}
	sameLines(t, "attrs", attrLines(c), []string{
		`status: "inactive" → "active"`,
		`rule: "" → "allow 22/tcp from any (ssh)"`,
		`rule: "" → "allow 5900 from 192.168.0.0/24"`,
		`rule: "" → "allow 80 from any"`,
		`rule: "" → "allow 443 from any"`,
	})
	sameLines(t, "commands", cmdLines(c), []string{
		"allow 22/tcp comment ssh",
		"allow from 192.168.0.0/24 to any port 5900",
		"allow 80",
		"allow 443",
		"--force enable",
	})
	if cv := c.detail.(*ufwConvergence); cv.defaults != nil || len(cv.before) != 0 {
		t.Errorf("nothing to write before the rules: %+v", cv)
	}
	script := ufwScript(c.detail.(*ufwConvergence).cmds)
	if !strings.HasPrefix(script, "set -e\n") || !strings.Contains(script, "u 'allow' '22/tcp' 'comment' 'ssh'\n") {
		t.Errorf("script:\n%s", script)
	}
}

// Normalization: the captured host's rules, added as `ufw allow 22`
// etc., are the plan's rules for both families; a v4 network only for v4.
func TestUFWCheckConvergedIsNoOp(t *testing.T) {
	for _, name := range []string{"active-seed"} {
		u := mustUFW(t, `exclusive = true`+seedAsOnHost)
		c := checkUFW(t, u, loadScenario(t, name), hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
		if c.Changed() || len(c.Attrs) > 0 || len(cmdLines(c)) > 0 {
			t.Errorf("%s: %v %q %v %v", name, c.Action, c.Summary, attrLines(c), cmdLines(c))
		}
		if c.Summary != "ufw active: 4 rules, default deny incoming, allow outgoing" {
			t.Errorf("summary %q", c.Summary)
		}
	}
	// Not yet enabled: only the status differs.
	u := mustUFW(t, seedAsOnHost)
	c := checkUFW(t, u, loadScenario(t, "inactive-seed"), noEndpoint)
	sameLines(t, "attrs", attrLines(c), []string{`status: "inactive" → "active"`})
	sameLines(t, "commands", cmdLines(c), []string{"--force enable"})
}

func TestUFWCheckDriftAndExclusive(t *testing.T) {
	hf := loadScenario(t, "active-seed").
		with(ufwRulesPath, "allow any 8080 0.0.0.0/0 any 0.0.0.0/0 in").
		with(ufwRules6Path, "allow any 8080 ::/0 any ::/0 in")
	u := mustUFW(t, `exclusive = true`+seedAsOnHost)
	c := checkUFW(t, u, hf, noEndpoint)
	if c.Action != Update || c.Summary != "update ufw: delete 1 rule" {
		t.Errorf("action %v, summary %q", c.Action, c.Summary)
	}
	sameLines(t, "attrs", attrLines(c), []string{`rule: "allow 8080 from any" → ""`})
	sameLines(t, "commands", cmdLines(c), []string{"delete allow 8080"})

	// Without exclusive the extra rule stays.
	u = mustUFW(t, seedAsOnHost)
	if c := checkUFW(t, u, hf, noEndpoint); c.Changed() {
		t.Errorf("non-exclusive plan changes %v", attrLines(c))
	}

	// One family only: deleted from that family only.
	hf = loadScenario(t, "active-seed").with(ufwRules6Path, "deny tcp 25 ::/0 any ::/0 in")
	c = checkUFW(t, mustUFW(t, `exclusive = true`+seedAsOnHost), hf, noEndpoint)
	sameLines(t, "attrs", attrLines(c), []string{`rule: "deny 25/tcp from ::/0" → ""`})
	sameLines(t, "commands", cmdLines(c), []string{"delete deny from ::/0 to any port 25 proto tcp"})
}

func TestUFWCheckChangesInPlace(t *testing.T) {
	// active-seed has `allow 22` (any protocol) and `allow 80`.
	u := mustUFW(t, `
  default_outgoing = "deny"
  exclusive = true
  rule {
    port = 22
    action = "limit"
    comment = "ssh"
  }
  rule {
    port = 5900
    from = "192.168.0.5/24" # host bits are cleared, as ufw does
  }
  rule {
    port = 80
    action = "deny"
  }
  rule { port = 443 }
`)
	c := checkUFW(t, u, loadScenario(t, "active-seed"), hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
	if c.Action != Update || c.Summary != "update ufw: change 2 rules, default deny outgoing" {
		t.Errorf("action %v, summary %q", c.Action, c.Summary)
	}
	sameLines(t, "attrs", attrLines(c), []string{
		`default outgoing: "allow" → "deny"`,
		`rule: "allow 22 from any" → "limit 22 from any (ssh)"`,
		`rule: "allow 80 from any" → "deny 80 from any"`,
	})
	// The limit (which accepts) before anything that blocks; the deny last.
	sameLines(t, "commands", cmdLines(c), []string{
		"limit 22 comment ssh",
		"deny 80",
		"default deny outgoing",
	})
}

func TestUFWCheckIPv6On(t *testing.T) {
	// IPv6 was off: the rules exist for IPv4 only.
	u := mustUFW(t, `
  exclusive = true
  default_outgoing = "reject"
  rule {
    port = 22
    proto = "tcp"
  }
  rule { port = 8080 }
  rule {
    port = 25
    proto = "tcp"
    from = "fd00::/8"
    action = "reject"
  }
`)
	c := checkUFW(t, u, loadScenario(t, "active-ipv6-off"), hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
	sameLines(t, "attrs", attrLines(c), []string{
		`IPV6: "no" → "yes"`,
		`rule: "allow 22/tcp from 0.0.0.0/0" → "allow 22/tcp from any"`,
		`rule: "allow 8080 from 0.0.0.0/0" → "allow 8080 from any"`,
		`rule: "" → "reject 25/tcp from fd00::/8"`,
	})
	// ufw must reload before it can take IPv6 rules while active.
	sameLines(t, "commands", cmdLines(c), []string{
		"reload",
		"allow from ::/0 to any port 22 proto tcp",
		"allow from ::/0 to any port 8080",
		"reject from fd00::/8 to any port 25 proto tcp",
	})
	cv := c.detail.(*ufwConvergence)
	if cv.defaults == nil || !strings.Contains(string(cv.defaults.Content), "\nIPV6=yes\n") ||
		cv.defaults.Mode != 0o644 || cv.defaults.Owner != "0" {
		t.Errorf("defaults write: %+v", cv.defaults)
	}
	if c.Summary != "update ufw: add 1 rule, change 2 rules, IPV6=yes" {
		t.Errorf("summary %q", c.Summary)
	}
}

// New rules keep the plan's order around the rules the host already has:
// a deny declared before an existing allow goes before it, per family.
func TestUFWCheckInsertsInPlanOrder(t *testing.T) {
	u := mustUFW(t, `
  rule {
    port = 22
    proto = "tcp"
    from = "10.9.0.0/16"
    action = "deny"
  }
  rule {
    port = 22
    proto = "tcp"
    from = "fd00::/8"
    action = "deny"
  }
  rule {
    port = 8081
    proto = "tcp"
    action = "reject"
  }
`+seedAsOnHost)
	c := checkUFW(t, u, loadScenario(t, "active-seed"), hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
	sameLines(t, "commands", cmdLines(c), []string{
		"insert 1 deny from 10.9.0.0/16 to any port 22 proto tcp",
		"insert 6 deny from fd00::/8 to any port 22 proto tcp", // 5 IPv4 rules now, then the first IPv6 one
		"insert 2 reject from 0.0.0.0/0 to any port 8081 proto tcp",
		"insert 8 reject from ::/0 to any port 8081 proto tcp",
	})
	cv := c.detail.(*ufwConvergence)
	var v4, v6 []string
	for _, e := range cv.final[famV4] {
		v4 = append(v4, describeRule(e.ufwRule, nil, false))
	}
	for _, e := range cv.final[famV6] {
		v6 = append(v6, describeRule(e.ufwRule, nil, false))
	}
	sameLines(t, "IPv4 rules after", v4, []string{"deny 22/tcp from 10.9.0.0/16", "reject 8081/tcp from any", "allow 22 from any",
		"allow 5900 from 192.168.0.0/24", "allow 80 from any", "allow 443 from any"})
	sameLines(t, "IPv6 rules after", v6, []string{"deny 22/tcp from fd00::/8", "reject 8081/tcp from any", "allow 22 from any",
		"allow 80 from any", "allow 443 from any"})
	// Once done, the same plan has nothing to do.
	if again := checkUFW(t, u, hostAfter(loadScenario(t, "active-seed"), cv), noEndpoint); again.Changed() {
		t.Errorf("not idempotent: %v", attrLines(again))
	}
}

// hostAfter is hf with the rules files as cv leaves them (what ufw writes,
// tuple by tuple) and the firewall enabled or not.
func hostAfter(hf ufwHostFiles, cv *ufwConvergence) ufwHostFiles {
	out := hf.with(ufwRulesPath)
	for f, path := range map[ufwFamily]string{famV4: ufwRulesPath, famV6: ufwRules6Path} {
		var b strings.Builder
		zero := f.anyAddr()
		for _, e := range cv.final[f] {
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
	if cv.defaults != nil {
		out.files[ufwDefaultsPath] = string(cv.defaults.Content)
	}
	return out
}

func TestUFWCheckNotInstalled(t *testing.T) {
	u := mustUFW(t, seedRules)
	hf := loadScenario(t, "not-installed")
	c := checkUFW(t, u, hf, hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
	if c.Action != Create || !strings.HasPrefix(c.Summary, "ufw is not installed yet") {
		t.Errorf("action %v, summary %q", c.Action, c.Summary)
	}
	sameLines(t, "attrs", attrLines(c), []string{
		`status: "not installed" → "active"`,
		`IPV6: "" → "yes"`,
		`default incoming: "" → "deny"`,
		`default outgoing: "" → "allow"`,
		`rule: "" → "allow 22/tcp from any (ssh)"`,
		`rule: "" → "allow 5900 from 192.168.0.0/24"`,
		`rule: "" → "allow 80 from any"`,
		`rule: "" → "allow 443 from any"`,
	})
	err := u.Apply(context.Background(), local(), c)
	if err == nil || !strings.Contains(err.Error(), "ufw is not installed") {
		t.Errorf("apply without ufw: %v", err)
	}
	// Without SSH access to the SSH port, not installed is no excuse.
	u = mustUFW(t, `rule { port = 80 }`)
	if _, err := u.Check(hf.state(t, u, hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})); !isRefusal(err) {
		t.Errorf("not installed, no SSH rule: %v", err)
	}
}

func TestUFWCheckErrors(t *testing.T) {
	u := mustUFW(t, seedRules)
	hf := loadScenario(t, "active-seed")
	hf.statusExit, hf.status = 1, ""
	if _, err := u.Check(hf.state(t, u, noEndpoint)); err == nil || !strings.Contains(err.Error(), "become = true") {
		t.Errorf("ufw status failing (not root): %v", err)
	}
	hf = loadScenario(t, "active-seed")
	delete(hf.files, ufwRules6Path)
	if _, err := u.Check(hf.state(t, u, noEndpoint)); err == nil || !strings.Contains(err.Error(), ufwRules6Path) {
		t.Errorf("unreadable user6.rules: %v", err)
	}
}

func TestUFWDisable(t *testing.T) {
	u := mustUFW(t, `enabled = false`+seedAsOnHost)
	c := checkUFW(t, u, loadScenario(t, "active-seed"), hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
	sameLines(t, "attrs", attrLines(c), []string{`status: "active" → "inactive"`})
	sameLines(t, "commands", cmdLines(c), []string{"disable"})
	if c.Action != Update || c.Summary != "update ufw: disable" {
		t.Errorf("action %v, summary %q", c.Action, c.Summary)
	}
}

func isRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}

// Every way a plan could cut the SSH connection, and the ways it cannot.
func TestUFWLockout(t *testing.T) {
	ssh := hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}
	ssh6 := hosts.Endpoint{ClientAddr: "fd42:213::1", ServerPort: 22}
	fresh := loadScenario(t, "inactive-fresh")
	cases := []struct {
		name string
		body string
		host ufwHostFiles
		ep   hosts.Endpoint
		want string // "" = accepted; else text the refusal contains
	}{
		{"ssh port missing", `rule { port = 80 }`, fresh, ssh,
			"no rule allows the SSH connection hako is using (tcp port 22 from 10.213.0.1), and the default for incoming traffic is deny; add `rule { port = 22 }`"},
		{"ssh port missing, default reject", `default_incoming = "reject"
rule { port = 80 }`, fresh, ssh, "default for incoming traffic is reject"},
		{"wrong protocol", `rule {
  port = 22
  proto = "udp"
}`, fresh, ssh, "no rule allows"},
		{"deny before the allow", `rule {
  port = 22
  from = "10.0.0.0/8"
  action = "deny"
}
rule { port = 22 }`, fresh, ssh, `ufw.firewall would lock hako out of the host: its rule 1 (plan.hcl:2), "deny 22 from 10.0.0.0/8", is the first rule that matches the SSH connection hako is using (tcp port 22 from 10.213.0.1) and denies it`},
		{"reject before the allow", `rule {
  port = "20:30"
  proto = "tcp"
  action = "reject"
}
rule { port = 22 }`, fresh, ssh, `rule 1 (plan.hcl:2), "reject 20:30/tcp from any"`},
		{"deny before the allow, other client", `rule {
  port = 22
  from = "10.0.0.0/8"
  action = "deny"
}
rule { port = 22 }`, fresh, hosts.Endpoint{ClientAddr: "192.168.0.9", ServerPort: 22}, ""},
		{"allow before the deny", `rule { port = 22 }
rule {
  port = 22
  proto = "tcp"
  from = "10.0.0.0/8"
  action = "deny"
}`, fresh, ssh, ""},
		{"allow only from a network without the client", `rule {
  port = 22
  from = "192.168.0.0/24"
}`, fresh, ssh, "no rule allows"},
		{"allow from the client's network", `rule {
  port = 22
  from = "10.213.0.0/24"
}`, fresh, ssh, ""},
		{"allow only from an IPv6 network", `rule {
  port = 22
  from = "fd42:213::/64"
}`, fresh, ssh, "no rule allows"},
		{"IPv6 client", `rule { port = 22 }`, fresh, ssh6, ""},
		{"IPv6 client, v4-only rule", `rule {
  port = 22
  from = "0.0.0.0/0"
}`, fresh, ssh6, "no rule allows the SSH connection hako is using (tcp port 22 from fd42:213::1)"},
		{"IPv6 client, ipv6 off", `ipv6 = false
rule { port = 22 }`, fresh, ssh6, "hako is connected over IPv6 (tcp port 22 from fd42:213::1), and with ipv6 = false ufw drops all IPv6 traffic"},
		{"v4-mapped client", `rule { port = 22 }`, fresh, hosts.Endpoint{ClientAddr: "::ffff:10.213.0.1", ServerPort: 22}, ""},
		{"limit accepts", `rule {
  port = 22
  action = "limit"
}`, fresh, ssh, ""},
		{"port in a list", `rule {
  port = "80,22,443"
  proto = "tcp"
}`, fresh, ssh, ""},
		{"other SSH port", `rule { port = 22 }`, fresh, hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 2222}, "tcp port 2222"},
		{"default allow, no rules", `default_incoming = "allow"`, fresh, ssh, ""},
		{"disabled", `enabled = false`, fresh, ssh, ""},
		{"local host", `rule { port = 80 }`, fresh, noEndpoint, ""},
		{"host's own deny stays (not exclusive)", `rule { port = 22 }`,
			fresh.with(ufwRulesPath, "deny tcp 22 0.0.0.0/0 any 10.213.0.0/24 in"), ssh,
			`the host's rule "deny 22/tcp from 10.213.0.0/24", which the plan does not declare, is the first rule that matches`},
		{"host's own deny goes (exclusive)", `exclusive = true
rule { port = 22 }`, fresh.with(ufwRulesPath, "deny tcp 22 0.0.0.0/0 any 10.213.0.0/24 in"), ssh, ""},
		{"deny on an interface may match", `rule { port = 22 }`,
			fresh.with(ufwRulesPath, "deny any 22 0.0.0.0/0 any 0.0.0.0/0 in_ppp0"), ssh,
			`the host's rule "deny in on ppp0 to any port 22", which the plan does not declare, may be the first rule that matches (hako cannot tell the interface the connection arrives on (ppp0))`},
		{"allow on an interface is not relied on", `rule { port = 80 }`,
			fresh.with(ufwRulesPath, "allow any 22 0.0.0.0/0 any 0.0.0.0/0 in_eth0"), ssh, "no rule allows"},
		{"host's allow is kept", `rule { port = 80 }`,
			fresh.with(ufwRulesPath, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"), ssh, ""},
		{"host's allow deleted (exclusive)", `exclusive = true
rule { port = 80 }`, fresh.with(ufwRulesPath, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"), ssh, "no rule allows"},
		{"out and route rules do not count", `rule { port = 80 }`,
			fresh.with(ufwRulesPath, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 out", "route:allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"), ssh, "no rule allows"},
		// An existing allow made into a deny in place stays first.
		{"allow turned into deny", `rule {
  port = 22
  action = "deny"
}`, loadScenario(t, "active-seed"), ssh, `its rule 1 (plan.hcl:2), "deny 22 from any"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := mustUFW(t, tc.body)
			c, err := u.Check(tc.host.state(t, u, tc.ep))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want == "":
			case !isRefusal(err):
				t.Errorf("want a refusal containing %q, got %v (change %+v)", tc.want, err, c)
			case !strings.Contains(err.Error(), tc.want):
				t.Errorf("refusal:\n  %v\nlacks:\n  %s", err, tc.want)
			}
		})
	}
}

// A host already as planned is never refused, even if hako cannot prove
// the connection safe: nothing would change.
func TestUFWNoChangeNoRefusal(t *testing.T) {
	hf := loadScenario(t, "active-seed").with(ufwRulesPath, "deny any 22 0.0.0.0/0 any 0.0.0.0/0 in_ppp0")
	u := mustUFW(t, seedAsOnHost)
	if c, err := u.Check(hf.state(t, u, hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})); err != nil || c.Changed() {
		t.Errorf("%v %v", c, err)
	}
}

// Decode errors: each testdata/ufw/errors/*.hcl file marks the lines a
// diagnostic must point at with `# ERROR: text`.
func TestUFWDecodeErrors(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "ufw", "errors", "*.hcl"))
	if len(files) == 0 {
		t.Fatal("no error cases")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			type marker struct {
				line int
				text string
			}
			var want []marker
			sc := bufio.NewScanner(strings.NewReader(string(src)))
			for n := 1; sc.Scan(); n++ {
				if _, text, ok := strings.Cut(sc.Text(), "# ERROR: "); ok {
					want = append(want, marker{n, strings.TrimSpace(text)})
				}
			}
			_, diags := decodeUFWPlan(t, string(src))
			if len(diags) != len(want) {
				t.Errorf("%d diagnostics, want %d:\n%v", len(diags), len(want), diags)
			}
			for _, w := range want {
				found := false
				for _, d := range diags {
					if d.Subject != nil && d.Subject.Start.Line == w.line && strings.Contains(d.Summary+": "+d.Detail, w.text) {
						found = true
					}
				}
				if !found {
					t.Errorf("no diagnostic at line %d containing %q; got:\n%v", w.line, w.text, diags)
				}
			}
		})
	}
}

func TestUFWDecodeNormalizes(t *testing.T) {
	u := mustUFW(t, `
  ipv6 = false
  rule {
    port  = "443,80, 022"
    proto = "tcp"
  }
  rule {
    port = 5900
    from = "10.0.0.1/32"
  }
  rule {
    port = "6000:6007"
    proto = "udp"
    from = "10.0.0.0/0"
    action = "deny"
  }
`)
	var got []string
	for _, r := range u.rules {
		got = append(got, fmt.Sprintf("%s %s %s %s %v", r.action, r.proto, r.port, r.from, r.families))
	}
	sameLines(t, "rules", got, []string{
		"allow tcp 22,80,443 any [IPv4]",
		"allow any 5900 10.0.0.1 [IPv4]",
		"deny udp 6000:6007 any [IPv4]",
	})
	if u.enabled != true || u.ipv6 || u.exclusive || u.incoming != "deny" || u.outgoing != "allow" {
		t.Errorf("defaults: %+v", u)
	}
}

// fakeHost records what Apply does; its Run fails when a script contains
// failOn.
type fakeHost struct {
	calls  []string
	failOn string
}

func (f *fakeHost) Name() string { return "fake" }
func (f *fakeHost) Close() error { return nil }
func (f *fakeHost) Run(_ context.Context, cmd string) (hosts.Result, error) {
	f.calls = append(f.calls, "run:"+strings.TrimPrefix(cmd, ufwScriptHead))
	if f.failOn != "" && strings.Contains(cmd, f.failOn) {
		return hosts.Result{ExitCode: 1, Stderr: []byte("ufw insert 2 deny 22 failed:\nERROR: Invalid position '2'\n")}, nil
	}
	return hosts.Result{}, nil
}
func (f *fakeHost) WriteFile(_ context.Context, w hosts.FileWrite) error {
	f.calls = append(f.calls, fmt.Sprintf("write:%s %o %s:%s IPV6=%v", w.Path, w.Mode, w.Owner, w.Group, parseDefaultFile(w.Content).IPv6))
	return nil
}

func (f *fakeHost) MakeDir(_ context.Context, d hosts.Dir) error {
	f.calls = append(f.calls, fmt.Sprintf("mkdir:%s", d.Path))
	return nil
}

// Apply: `ufw disable` first when turning ufw off, then /etc/default/ufw,
// then the rest in one script.
func TestUFWApplyOrder(t *testing.T) {
	u := mustUFW(t, "enabled = false\nipv6 = false\n"+seedAsOnHost)
	c := checkUFW(t, u, loadScenario(t, "active-seed"), noEndpoint)
	h := &fakeHost{}
	if err := u.Apply(context.Background(), h, c); err != nil {
		t.Fatal(err)
	}
	sameLines(t, "calls", h.calls, []string{
		"run:u 'disable'\n",
		"write:/etc/default/ufw 644 0:0 IPV6=false",
	})

	u = mustUFW(t, "exclusive = true\n"+seedRules)
	c = checkUFW(t, u, loadScenario(t, "active-ipv6-off"), noEndpoint)
	h = &fakeHost{failOn: "'8080'"}
	err := u.Apply(context.Background(), h, c)
	sameLines(t, "calls", h.calls, []string{
		"write:/etc/default/ufw 644 0:0 IPV6=true",
		"run:u 'reload'\n" +
			// a comment for the IPv4 rule, the rule for IPv6: one command
			"u 'allow' '22/tcp' 'comment' 'ssh'\n" +
			"u 'allow' 'from' '192.168.0.0/24' 'to' 'any' 'port' '5900'\n" +
			"u 'allow' '80'\n" +
			"u 'allow' '443'\n" +
			"u 'delete' 'allow' 'from' '0.0.0.0/0' 'to' 'any' 'port' '8080'\n" +
			"u 'default' 'allow' 'outgoing'\n",
	})
	if err == nil || !strings.Contains(err.Error(), "ERROR: Invalid position '2'") {
		t.Errorf("a failing ufw command: %v", err)
	}
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
		if got, err := normalizePorts(in); err != nil || got != want {
			t.Errorf("normalizePorts(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// The host as ufw left it after `ufw allow 80:90,80/tcp`: nothing to do.
	hf := loadScenario(t, "active-seed").with(ufwRulesPath, "allow tcp 80,80:90 0.0.0.0/0 any 0.0.0.0/0 in").
		with(ufwRules6Path, "allow tcp 80,80:90 ::/0 any ::/0 in")
	u := mustUFW(t, "exclusive = true\n"+seedAsOnHost+"\nrule {\n port = \"80:90,80\"\n proto = \"tcp\"\n}")
	if c := checkUFW(t, u, hf, noEndpoint); c.Changed() {
		t.Errorf("not idempotent: %v %v", attrLines(c), cmdLines(c))
	}
}

// A kernel without IPv6 (ipv6.disable=1): ufw keeps IPv4 rules only even
// with IPV6=yes, so a plan with ipv6 = true cannot converge; Check says so.
// With ipv6 = false the task works as on any host.
func TestUFWKernelWithoutIPv6(t *testing.T) {
	ep := hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}
	u := mustUFW(t, "rule {\n port = 22\n proto = \"tcp\"\n}\nrule { port = 8080 }")
	probed := false
	for _, p := range u.Probes() {
		probed = probed || p == Probe{ProbeStat, ufwKernelIPv6}
	}
	if !probed {
		t.Errorf("no probe of %s: %v", ufwKernelIPv6, u.Probes())
	}
	// As ufw leaves such a host after `ufw allow 22/tcp` with IPV6=yes.
	hf := loadScenario(t, "active-ipv6-off")
	hf.files[ufwDefaultsPath] = string(setIPv6([]byte(hf.files[ufwDefaultsPath]), true))
	hf.noIPv6 = true
	for _, scenario := range []ufwHostFiles{hf, func() ufwHostFiles { h := loadScenario(t, "not-installed"); h.noIPv6 = true; return h }()} {
		_, err := u.Check(scenario.state(t, u, ep))
		if err == nil || isRefusal(err) || !strings.Contains(err.Error(), "the host's kernel has no IPv6 (/proc/sys/net/ipv6 is missing") ||
			!strings.Contains(err.Error(), "set ipv6 = false") {
			t.Errorf("ipv6 = true on a kernel without IPv6: %v", err)
		}
	}
	u = mustUFW(t, "ipv6 = false\ndefault_outgoing = \"reject\"\nrule {\n port = 22\n proto = \"tcp\"\n}\nrule { port = 8080 }")
	hf = loadScenario(t, "active-ipv6-off")
	hf.noIPv6 = true
	if c := checkUFW(t, u, hf, ep); c.Changed() {
		t.Errorf("ipv6 = false on a kernel without IPv6: %v %v", attrLines(c), cmdLines(c))
	}
}
