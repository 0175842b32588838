package tasks

import (
	"bufio"
	"context"
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
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/ufw"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// ufwHostFiles is what the ufw probes read, by probe argument, plus the
// captured `ufw status verbose` and its exit status, from which the
// kernel's answer is made (kernel).
type ufwHostFiles struct {
	status     string
	statusExit int
	files      map[string]string // path → content; absent: missing
	noIPv6     bool              // the kernel has no IPv6: /proc/sys/net/ipv6 is missing
	exit4      int               // iptables -S's exit status
}

// kernel is what the ufw probe finds on the host the scenario was
// captured on: ufw installed unless the shell found no ufw command (exit
// status 127), and its chains loaded when the status said active.
func (hf ufwHostFiles) kernel() ufw.Kernel {
	k := ufw.Kernel{IPv6: !hf.noIPv6, Installed: hf.statusExit != 127, Exit4: -1, Exit6: -1,
		Sysctl: map[string]string{"ipv4/ip_forward": "0", "ipv6/conf/default/forwarding": "0", "ipv6/conf/all/forwarding": "0"}}
	if !k.Installed {
		return k
	}
	k.Exit4 = hf.exit4
	if strings.HasPrefix(hf.status, "Status: active\n") {
		k.Chains4, k.Exit6, k.Chains6 = ufw.Chains, 0, ufw.Chains
	}
	return k
}

// loadScenario reads a scenario captured from a real bookworm test host's
// ufw 0.36.2 (package ufw's testdata; see capture.sh there).
func loadScenario(t *testing.T, name string) ufwHostFiles {
	t.Helper()
	dir := filepath.Join("..", "ufw", "testdata", name)
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
	for f, path := range map[string]string{"default-ufw": ufw.DefaultsPath, "user.rules": ufw.RulesPath, "user6.rules": ufw.Rules6Path} {
		if s, ok := read(f); ok {
			hf.files[path] = s
		}
	}
	// ufw.conf was not captured: it says ENABLED as the status did, and
	// LOGLEVEL=low, as the captured statuses show.
	if _, ok := hf.files[ufw.DefaultsPath]; ok {
		enabled := "no"
		if strings.HasPrefix(hf.status, "Status: active\n") {
			enabled = "yes"
		}
		hf.files[ufw.ConfPath] = "ENABLED=" + enabled + "\nLOGLEVEL=low\n"
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
func (hf ufwHostFiles) state(t *testing.T, task Task) *State {
	t.Helper()
	f := probe.NewFake()
	for _, p := range task.Probes() {
		switch p := p.(type) {
		case ufwKernel:
			f.Set(p, hf.kernel())
		case probe.Stat:
			data, ok := hf.files[p.Path]
			switch {
			case ok:
				f.Set(p, FileInfo{Exists: true, Type: "regular file", Mode: 0o644, User: "root", Group: "root", Size: int64(len(data))})
			default:
				f.Set(p, FileInfo{})
			}
		case probe.File:
			if data, ok := hf.files[p.Path]; ok {
				f.Set(p, Content{Readable: true, Data: []byte(data)})
			} else {
				f.Set(p, Content{})
			}
		default:
			t.Fatalf("unexpected probe %+v", p)
		}
	}
	a, err := f.Answer(task.Probes())
	if err != nil {
		t.Fatal(err)
	}
	st := NewState(a)
	return st
}

// strict is a Check's outcome as a run that overrides nothing sees it:
// the first refusal is the error.
func strict(c *Change, err error) (*Change, error) {
	if err == nil && len(c.Refusals) > 0 {
		return nil, c.Refusals[0]
	}
	return c, err
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

// seedRules is a small firewall: SSH, 80 and 443 from anywhere, VNC from
// the LAN only.
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

// seedAsOnHost is seedRules written the way the captured host has it
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
	c, err := strict(u.Check(hf.state(t, u), Env{Endpoint: ep}))
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
	d := c.Planned.(*UFWPlan)
	var out []string
	for _, cmd := range append(append([][]string{}, d.Before...), d.Commands...) {
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

// The home server's firewall (SSH, 80 and 443 open, VNC on 5900 from the
// LAN only) on a fresh card, where ufw is installed but inactive with no
// rules: every rule is added in one go, then ufw is enabled. The card's
// defaults (deny incoming, allow outgoing) are the plan's already, so
// nothing is written before the rules.
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
	if d := c.Planned.(*UFWPlan); d.Defaults != nil || len(d.Before) != 0 {
		t.Errorf("nothing to write before the rules: %+v", d)
	}
	script := ufwScript(c.Planned.(*UFWPlan).Commands)
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
		with(ufw.RulesPath, "allow any 8080 0.0.0.0/0 any 0.0.0.0/0 in").
		with(ufw.Rules6Path, "allow any 8080 ::/0 any ::/0 in")
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
	hf = loadScenario(t, "active-seed").with(ufw.Rules6Path, "deny tcp 25 ::/0 any ::/0 in")
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
	d := c.Planned.(*UFWPlan)
	if d.Defaults == nil || !strings.Contains(d.Defaults.Content, "\nIPV6=yes\n") ||
		d.Defaults.Mode != 0o644 || d.Defaults.Owner != "0" {
		t.Errorf("defaults write: %+v", d.Defaults)
	}
	if c.Summary != "update ufw: add 1 rule, change 2 rules, IPV6=yes" {
		t.Errorf("summary %q", c.Summary)
	}
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
	if _, err := strict(u.Check(hf.state(t, u), Env{Endpoint: hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}})); !isRefusal(err) {
		t.Errorf("not installed, no SSH rule: %v", err)
	}
}

func TestUFWCheckErrors(t *testing.T) {
	u := mustUFW(t, seedRules)
	hf := loadScenario(t, "active-seed")
	delete(hf.files, ufw.RulesPath)
	if _, err := strict(u.Check(hf.state(t, u), Env{Endpoint: noEndpoint})); err == nil || !strings.Contains(err.Error(), "become = true") {
		t.Errorf("user.rules unreadable (not root): %v", err)
	}
	hf = loadScenario(t, "active-seed")
	hf.exit4 = 4
	if _, err := strict(u.Check(hf.state(t, u), Env{Endpoint: noEndpoint})); err == nil || !strings.Contains(err.Error(), "iptables -S exited 4") {
		t.Errorf("iptables failing: %v", err)
	}
	hf = loadScenario(t, "active-seed")
	hf.files[ufw.DefaultsPath] = strings.ReplaceAll(hf.files[ufw.DefaultsPath], "DEFAULT_OUTPUT_POLICY=", "#")
	if _, err := strict(u.Check(hf.state(t, u), Env{Endpoint: noEndpoint})); err == nil || !strings.Contains(err.Error(), "no DEFAULT_OUTPUT_POLICY") {
		t.Errorf("a policy missing: %v", err)
	}
	hf = loadScenario(t, "active-seed")
	delete(hf.files, ufw.Rules6Path)
	if _, err := strict(u.Check(hf.state(t, u), Env{Endpoint: noEndpoint})); err == nil || !strings.Contains(err.Error(), ufw.Rules6Path) {
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
			fresh.with(ufw.RulesPath, "deny tcp 22 0.0.0.0/0 any 10.213.0.0/24 in"), ssh,
			`the host's rule "deny 22/tcp from 10.213.0.0/24", which the plan does not declare, is the first rule that matches`},
		{"host's own deny goes (exclusive)", `exclusive = true
rule { port = 22 }`, fresh.with(ufw.RulesPath, "deny tcp 22 0.0.0.0/0 any 10.213.0.0/24 in"), ssh, ""},
		{"deny on an interface may match", `rule { port = 22 }`,
			fresh.with(ufw.RulesPath, "deny any 22 0.0.0.0/0 any 0.0.0.0/0 in_ppp0"), ssh,
			`the host's rule "deny in on ppp0 to any port 22", which the plan does not declare, may be the first rule that matches (hako cannot tell the interface the connection arrives on (ppp0))`},
		{"allow on an interface is not relied on", `rule { port = 80 }`,
			fresh.with(ufw.RulesPath, "allow any 22 0.0.0.0/0 any 0.0.0.0/0 in_eth0"), ssh, "no rule allows"},
		{"host's allow is kept", `rule { port = 80 }`,
			fresh.with(ufw.RulesPath, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"), ssh, ""},
		{"host's allow deleted (exclusive)", `exclusive = true
rule { port = 80 }`, fresh.with(ufw.RulesPath, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"), ssh, "no rule allows"},
		{"out and route rules do not count", `rule { port = 80 }`,
			fresh.with(ufw.RulesPath, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 out", "route:allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"), ssh, "no rule allows"},
		// An existing allow made into a deny in place stays first.
		{"allow turned into deny", `rule {
  port = 22
  action = "deny"
}`, loadScenario(t, "active-seed"), ssh, `its rule 1 (plan.hcl:2), "deny 22 from any"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := mustUFW(t, tc.body)
			c, err := strict(u.Check(tc.host.state(t, u), Env{Endpoint: tc.ep}))
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
	hf := loadScenario(t, "active-seed").with(ufw.RulesPath, "deny any 22 0.0.0.0/0 any 0.0.0.0/0 in_ppp0")
	u := mustUFW(t, seedAsOnHost)
	if c, err := strict(u.Check(hf.state(t, u), Env{Endpoint: hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}})); err != nil || c.Changed() {
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
	for _, r := range u.goal.Rules {
		got = append(got, fmt.Sprintf("%s %s %s %s %v", r.Action, r.Proto, r.Port, r.From, r.Families))
	}
	sameLines(t, "rules", got, []string{
		"allow tcp 22,80,443 any [IPv4]",
		"allow any 5900 10.0.0.1 [IPv4]",
		"deny udp 6000:6007 any [IPv4]",
	})
	if g := u.goal; g.Enabled != true || g.IPv6 || g.Exclusive || g.Incoming != "deny" || g.Outgoing != "allow" {
		t.Errorf("defaults: %+v", g)
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
	f.calls = append(f.calls, fmt.Sprintf("write:%s %o %s:%s IPV6=%v", w.Path, w.Mode, w.Owner, w.Group, ufwIPv6(w.Content)))
	return nil
}

// ufwIPv6 is IPV6 as ufw reads it from /etc/default/ufw.
func ufwIPv6(data []byte) bool {
	set, err := ufw.ParseSettings(ufw.NamedFile{Path: ufw.DefaultsPath, Data: data})
	return err == nil && set["ipv6"] == "yes"
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

// A kernel without IPv6 (ipv6.disable=1): ufw keeps IPv4 rules only even
// with IPV6=yes, so a plan with ipv6 = true cannot converge; Check says so.
// With ipv6 = false the task works as on any host.
func TestUFWKernelWithoutIPv6(t *testing.T) {
	ep := hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}
	u := mustUFW(t, "rule {\n port = 22\n proto = \"tcp\"\n}\nrule { port = 8080 }")
	probed := false
	for _, p := range u.Probes() {
		probed = probed || p == Probe(ufwKernel{})
	}
	if !probed || !strings.Contains(ufwKernelFunc, "[ -e "+ufwKernelIPv6+" ]") {
		t.Errorf("no probe of %s: %v", ufwKernelIPv6, u.Probes())
	}
	// As ufw leaves such a host after `ufw allow 22/tcp` with IPV6=yes.
	hf := loadScenario(t, "active-ipv6-off")
	hf.files[ufw.DefaultsPath] = string(ufw.SetIPv6([]byte(hf.files[ufw.DefaultsPath]), true))
	hf.noIPv6 = true
	for _, scenario := range []ufwHostFiles{hf, func() ufwHostFiles { h := loadScenario(t, "not-installed"); h.noIPv6 = true; return h }()} {
		_, err := strict(u.Check(scenario.state(t, u), Env{Endpoint: ep}))
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
