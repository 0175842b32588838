package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/ufw"
	"github.com/hashicorp/hcl/v2"
)

// UFW manages the ufw firewall declaratively: on or off, the default
// policies, IPv6 support and the incoming rules.
//
// The firewall itself (reading ufw's files, working out the commands and
// the rules they leave, the lockout check) is package ufw, pure functions
// of data. This file is the task around it: the plan's schema and its
// decoding into a ufw.Goal, the probes, the refusals (Env.Endpoint and
// Env.MoveTo say which SSH connection must stay open), and running
// the commands on the host.
type UFW struct {
	addr Address
	goal ufw.Goal
}

// ufwKernelIPv6 is missing when the kernel has no IPv6 (ipv6.disable=1):
// ufw then keeps IPv4 rules only, whatever IPV6 says (use_ipv6 in
// backend.py).
const ufwKernelIPv6 = "/proc/sys/net/ipv6"

func init() {
	register(Kind{
		Name:       "ufw",
		OnePerHost: true,
		Schema: &hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "enabled"}, {Name: "default_incoming"}, {Name: "default_outgoing"},
				{Name: "ipv6"}, {Name: "exclusive"},
			},
			Blocks: []hcl.BlockHeaderSchema{{Type: "rule"}},
		},
		BlockSchemas: map[string]*hcl.BodySchema{
			"rule": {Attributes: []hcl.AttributeSchema{
				{Name: "port"}, {Name: "proto"}, {Name: "from"}, {Name: "action"}, {Name: "comment"},
			}},
		},
		Decode:     decodeUFW,
		NewPlanned: func() any { return new(UFWPlan) },
	})
}

func decodeUFW(a *attrs.Attrs) Task {
	u := &UFW{addr: Address{a.Kind, a.Name}}
	g := &u.goal
	g.Enabled, g.IPv6, g.Exclusive = a.Bool("enabled", true), a.Bool("ipv6", true), a.Bool("exclusive", false)
	g.Incoming = oneOf(a, "default_incoming", "deny", "deny", "allow", "reject")
	g.Outgoing = oneOf(a, "default_outgoing", "allow", "deny", "allow", "reject")
	// ufw keeps one rule per key and family: a second one would replace the first.
	type slot struct {
		key ufw.Key
		fam ufw.Family
	}
	seen := map[slot]*ufw.PlanRule{}
	for i, ra := range a.Blocks["rule"] {
		r := decodeUFWRule(ra, g.IPv6)
		if r == nil {
			continue
		}
		r.N = i + 1
		r.Where = fmt.Sprintf("rule %d", r.N)
		if ra.Decl.Filename != "" {
			r.Where = fmt.Sprintf("rule %d (%s:%d)", r.N, ra.Decl.Filename, ra.Decl.Start.Line)
		}
		var dup *ufw.PlanRule
		for _, f := range r.Families {
			s := slot{r.Rule().Key, f}
			if prev := seen[s]; prev != nil && dup == nil {
				dup = prev
			}
			seen[s] = r
		}
		if dup != nil {
			ra.Diags = ra.Diags.Append(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate firewall rule",
				Detail: fmt.Sprintf("In %s: this rule is for the same port, protocol and source as rule %d (%s); ufw keeps one rule for them, so only one action and comment can apply.",
					u.addr, dup.N, dup.Describe(g.IPv6)),
				Subject: ra.Decl.Ptr(),
			})
			continue
		}
		g.Rules = append(g.Rules, r)
	}
	return u
}

// decodeUFWRule decodes one rule block; nil when it is invalid (the
// diagnostics say why) or not fully known (validate without all values).
func decodeUFWRule(a *attrs.Attrs, ipv6 bool) *ufw.PlanRule {
	r := &ufw.PlanRule{Port: "any", From: "any", Families: []ufw.Family{ufw.V4, ufw.V6}}
	if !ipv6 {
		r.Families = []ufw.Family{ufw.V4}
	}
	known := true
	for name := range a.Items {
		known = known && isKnown(a, name)
	}
	r.Action = oneOf(a, "action", "allow", "allow", "deny", "limit", "reject")
	r.Proto = oneOf(a, "proto", "any", "tcp", "udp", "any")
	if s, ok := knownString(a, "port"); ok {
		p, err := ufw.NormalizePorts(s)
		switch {
		case err != nil:
			a.AttrErrorf("port", "Invalid port", "%v.", err)
		case strings.ContainsAny(p, ",:") && r.Proto == "any":
			a.AttrErrorf("port", "Invalid port", "a port range or list needs proto = \"tcp\" or \"udp\" (ufw cannot match several ports of any protocol).")
		default:
			r.Port = p
		}
	}
	if s, ok := knownString(a, "from"); ok {
		from, fam, err := ufw.NormalizeSource(s)
		switch {
		case err != nil:
			a.AttrErrorf("from", "Invalid source address", "%v.", err)
		case fam == ufw.V6 && !ipv6:
			a.AttrErrorf("from", "Invalid source address", "%s is an IPv6 source, but the task sets ipv6 = false, so ufw keeps no IPv6 rules.", s)
		case fam != 0:
			r.From, r.Families, r.FamAny = from, []ufw.Family{fam}, from == "any"
		}
	}
	if s, ok := knownString(a, "comment"); ok {
		r.Comment = s
		if i := strings.IndexFunc(s, func(c rune) bool { return c == '\'' || unicode.IsControl(c) }); i >= 0 {
			c, _ := utf8.DecodeRuneInString(s[i:])
			a.AttrErrorf("comment", "Invalid comment", "ufw cannot store a comment with %q in it.", string(c))
		} else if why := ufw.CommentWord(s); why != "" {
			a.AttrErrorf("comment", "Invalid comment", "%s, so ufw refuses the rule; reword the comment.", why)
		}
	}
	if a.Diags.HasErrors() || !known {
		return nil
	}
	if !a.Has("port") && r.From == "any" {
		a.Errorf("Invalid firewall rule", "a rule needs a port or a from address (one for every port from anywhere would replace the default policy).")
		return nil
	}
	return r
}

// knownString returns a string attribute that is set, known and a string
// (a wrong type has been reported).
func knownString(a *attrs.Attrs, name string) (string, bool) {
	if !a.Has(name) || !isKnown(a, name) {
		return "", false
	}
	n := len(a.Diags)
	s := a.String(name)
	return s, len(a.Diags) == n
}

// isKnown reports whether an attribute's value is known (validate runs
// without the values of variables given on the command line).
func isKnown(a *attrs.Attrs, name string) bool {
	it, ok := a.Items[name]
	if !ok {
		return true
	}
	v, _ := it.Value.UnmarkDeep()
	return v.IsWhollyKnown()
}

// oneOf returns a string attribute that must be one of choices, def when
// absent.
func oneOf(a *attrs.Attrs, name, def string, choices ...string) string {
	v, ok := knownString(a, name)
	if !ok {
		return def // absent, unknown, or not a string (reported)
	}
	for _, c := range choices {
		if v == c {
			return v
		}
	}
	a.AttrErrorf(name, "Invalid "+name, "%s must be %s, got %q.", name, orList(choices), v)
	return def
}

func orList(choices []string) string {
	q := make([]string, len(choices))
	for i, c := range choices {
		q[i] = strconv.Quote(c)
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func (u *UFW) Address() Address { return u.addr }

// Cuts: the firewall decides whether hako's SSH connection gets in.
func (u *UFW) Cuts(Env) Cuts { return CutsFirewall }

// FirewallFiles are the files ufw keeps its configuration in: its
// defaults, ufw.conf and the rules files it loads (user rules and the
// before/after rules the package ships).
func (u *UFW) FirewallFiles() []string {
	return []string{ufw.DefaultsPath, "/etc/ufw/ufw.conf", ufw.RulesPath, ufw.Rules6Path,
		"/etc/ufw/before.rules", "/etc/ufw/before6.rules", "/etc/ufw/after.rules", "/etc/ufw/after6.rules"}
}

// Probes read ufw's state without running ufw: its files, exactly as ufw
// reads them, and what it asks the kernel (package ufw, NewHost). The
// stat of /etc/default/ufw is for its mode and owner, which a rewrite
// keeps.
func (u *UFW) Probes() []Probe {
	return []Probe{
		ufwKernel{},
		probe.Stat{Path: ufw.DefaultsPath}, probe.File{Path: ufw.DefaultsPath}, probe.File{Path: ufw.ConfPath},
		probe.File{Path: ufw.RulesPath}, probe.File{Path: ufw.Rules6Path},
	}
}

// ufwHost is the firewall as the probes found it, and the mode and owner
// of /etc/default/ufw, which a rewrite keeps.
type ufwHost struct {
	*ufw.Host
	kernelIPv6  bool
	defaultInfo FileInfo
}

func readUFWHost(s *State) (*ufwHost, error) {
	k := probe.Answer[ufw.Kernel](s.Answers, ufwKernel{})
	if !k.Installed {
		h, err := ufw.NewHost(k, ufw.HostFiles{})
		return &ufwHost{Host: h, kernelIPv6: k.IPv6}, err
	}
	var data [4][]byte
	for i, path := range []string{ufw.DefaultsPath, ufw.ConfPath, ufw.RulesPath, ufw.Rules6Path} {
		c := s.Content(path)
		switch {
		case !c.Readable && i < 2:
			return nil, fmt.Errorf("cannot read %s (is ufw installed completely?)", path)
		case !c.Readable:
			return nil, fmt.Errorf("cannot read %s (ufw needs root: set become = true on the host)", path)
		}
		data[i] = c.Data
	}
	h, err := ufw.NewHost(k, ufw.HostFiles{Defaults: data[0], Conf: data[1], Rules: data[2], Rules6: data[3]})
	if err != nil {
		return nil, err
	}
	return &ufwHost{Host: h, kernelIPv6: k.IPv6, defaultInfo: s.Stat(ufw.DefaultsPath)}, nil
}

// UFWPlan is a ufw task's planned change: what Apply carries out (the
// worked-out ufw commands, and the rewrite of /etc/default/ufw when IPV6
// changes) and the rules each family's list holds afterwards, as package
// ufw predicts them. That prediction is the firewall the lockout check
// examined; CheckFinal compares it with the rules ufw holds after Apply.
type UFWPlan struct {
	Installed bool       `json:"installed"`        // else Apply can do nothing
	Before    [][]string `json:"before,omitempty"` // ufw commands run before /etc/default/ufw is written
	// Defaults is /etc/default/ufw with the new IPV6; nil when it stays.
	Defaults *UFWDefaultsFile `json:"defaults_file,omitempty"`
	Commands [][]string       `json:"commands,omitempty"` // the rest, in one script
	// Final is each family's rule list after the commands, in ufw's order
	// (keys 4 and 6).
	Final map[ufw.Family][]ufw.Rule `json:"final"`
}

// UFWDefaultsFile is the rewrite of /etc/default/ufw, which keeps the
// file's mode and owner.
type UFWDefaultsFile struct {
	Content string    `json:"content,omitempty"`
	Mode    OctalMode `json:"mode"`
	// Owner and Group as hosts.FileWrite takes them: names or numeric ids.
	Owner string `json:"owner"`
	Group string `json:"group"`
}

// MarshalJSON leaves the content out when the host's file is not
// world-readable (its mode is kept): as with a file task, such a file may
// hold what its owner meant to keep to themselves.
func (d UFWDefaultsFile) MarshalJSON() ([]byte, error) {
	type plain UFWDefaultsFile // without this method
	p := plain(d)
	if d.Mode&0o004 == 0 {
		p.Content = ""
	}
	return json.Marshal(p)
}

func (u *UFW) Check(s *State, env Env) (*Change, error) {
	h, err := readUFWHost(s)
	if err != nil {
		return nil, err
	}
	if u.goal.IPv6 && !h.kernelIPv6 {
		return nil, fmt.Errorf("the host's kernel has no IPv6 (%s is missing, as with the boot option ipv6.disable=1), so ufw keeps IPv4 rules only and refuses IPv6 ones; set ipv6 = false in this task for such a host", ufwKernelIPv6)
	}
	cv, err := ufw.Converge(h.Host, &u.goal)
	if err != nil {
		return nil, err
	}
	var refusals []*Refusal
	if env.MoveTo != 0 && env.MoveTo != env.Endpoint.ServerPort && cv.Enabled {
		if cv, refusals, err = u.migrationCheck(env, h, cv); err != nil {
			return nil, err
		}
	}
	d := &UFWPlan{Installed: cv.Installed, Before: cv.Before, Commands: cv.Cmds, Final: map[ufw.Family][]ufw.Rule{}}
	if cv.Defaults != nil {
		d.Defaults = defaultsFile(h, cv.Defaults)
	}
	for f, l := range cv.Final {
		for _, e := range l {
			d.Final[f] = append(d.Final[f], e.Rule)
		}
	}
	c := &Change{Address: u.addr, Refusals: refusals, Planned: d}
	for _, a := range cv.Changes {
		c.Attrs = append(c.Attrs, AttrChange{Name: a.Name, Before: a.Before, After: a.After})
	}
	switch {
	case len(cv.Changes) == 0:
		c.Summary = h.Summary(u.goal.IPv6)
	case u.goal.Enabled && !h.Status.Active && !h.Status.Enabled:
		c.Action, c.Summary = Create, "enable ufw: "+u.goal.Summary()
		if !h.Status.Installed {
			c.Summary = "ufw is not installed yet (an earlier task must install it); then enable it: " + u.goal.Summary()
		}
	default:
		c.Action, c.Summary = Update, "update ufw: "+cv.Summary()
		if !h.Status.Installed {
			c.Summary = "ufw is not installed yet (an earlier task must install it); then configure it: " + u.goal.Summary()
		}
	}
	if c.Changed() && env.MoveTo == 0 {
		if r := u.lockout(env.Endpoint, cv); r != nil {
			c.Refusals = append(c.Refusals, r)
		}
	}
	return c, nil
}

// lockout returns a Refusal when the firewall cv leaves would not accept
// the SSH connection ep, nil when it would (or when there is no network
// connection to protect).
func (u *UFW) lockout(ep hosts.Endpoint, cv *ufw.Convergence) *Refusal {
	if ep.ClientAddr == "" || ep.ServerPort == 0 || !cv.Enabled {
		return nil
	}
	client, err := netip.ParseAddr(ep.ClientAddr)
	if err != nil {
		return &Refusal{Check: CheckUFWLockout, Reason: fmt.Sprintf("%s: cannot tell whether the firewall would let hako's SSH connection in: the client address %q is not an IP address", u.addr, ep.ClientAddr)}
	}
	if why := cv.Lockout(client, ep.ServerPort); why != "" {
		return &Refusal{Check: CheckUFWLockout, Reason: fmt.Sprintf("%s would lock hako out of the host: %s", u.addr, why)}
	}
	return nil
}

// migrationCheck is Check's lockout step while hako moves SSH to another
// port (it is connected through a host's bootstrap settings, and
// env.MoveTo is the plan's port): the new port must be allowed (else a
// refusal), and the port in use is kept open through a temporary rule
// (ufw.Goal.WithTemporaryRule) until hako has logged in on the new port.
// It returns the convergence to carry out if the run overrides the
// refusals (-allow-risky ufw-lockout), and the refusals.
func (u *UFW) migrationCheck(env Env, h *ufwHost, cv *ufw.Convergence) (*ufw.Convergence, []*Refusal, error) {
	var refusals []*Refusal
	target := env.Endpoint
	target.ServerPort = env.MoveTo
	if r := u.lockout(target, cv); r != nil {
		r.Reason += fmt.Sprintf(" (the plan moves SSH from port %d to port %d)", env.Endpoint.ServerPort, env.MoveTo)
		refusals = append(refusals, r)
	}
	if u.lockout(env.Endpoint, cv) == nil {
		return cv, refusals, nil
	}
	keep, err := u.goal.WithTemporaryRule(env.Endpoint.ClientAddr, env.Endpoint.ServerPort)
	if err != nil {
		r := &Refusal{Check: CheckUFWLockout, Reason: fmt.Sprintf("%s: cannot keep the SSH connection in use open during the move: %v", u.addr, err)}
		return cv, append(refusals, r), nil
	}
	kcv, err := ufw.Converge(h.Host, keep)
	if err != nil {
		return nil, nil, err
	}
	if r := u.lockout(env.Endpoint, kcv); r != nil {
		refusals = append(refusals, r)
	}
	return kcv, refusals, nil
}

func (u *UFW) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	d := c.Planned.(*UFWPlan)
	if !d.Installed {
		return errors.New("ufw is not installed on the host: install it first (for example with a package task before this one)")
	}
	if len(d.Before) > 0 {
		if err := runUFW(ctx, h, d.Before); err != nil {
			return err
		}
	}
	if f := d.Defaults; f != nil {
		w := hosts.FileWrite{Path: ufw.DefaultsPath, Content: []byte(f.Content), Mode: fileMode(int(f.Mode)), Owner: f.Owner, Group: f.Group}
		if err := h.WriteFile(ctx, w); err != nil {
			return fmt.Errorf("writing %s: %w", ufw.DefaultsPath, err)
		}
	}
	if len(d.Commands) > 0 {
		return runUFW(ctx, h, d.Commands)
	}
	return nil
}

// maxShownDifferences is how many differing rules CheckFinal names (a
// rule in another place than predicted is two), to keep its message short.
const maxShownDifferences = 2

// CheckFinal compares the rules ufw holds after Apply with those the plan
// predicted, family by family and in order.
func (u *UFW) CheckFinal(c *Change, s *State) error {
	d := c.Planned.(*UFWPlan)
	h, err := readUFWHost(s)
	if err != nil {
		return err
	}
	predicted := map[ufw.Family][]ufw.Entry{}
	for f, l := range d.Final {
		for _, r := range l {
			predicted[f] = append(predicted[f], ufw.Entry{Rule: r})
		}
	}
	diffs := ufw.CompareFinal(predicted, h.Lists)
	if len(diffs) == 0 {
		return nil
	}
	var shown []string
	for _, x := range diffs[:min(len(diffs), maxShownDifferences)] {
		shown = append(shown, x.String())
	}
	if n := len(diffs) - len(shown); n > 0 {
		shown = append(shown, fmt.Sprintf("and %d more", n))
	}
	return fmt.Errorf("ufw's rules differ from those predicted (and checked for lockout): %s", strings.Join(shown, "; "))
}

// ufwScriptHead stops at the first failing ufw command and says which one
// failed and what ufw said.
const ufwScriptHead = `set -e
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
u() { if ! out=$(ufw "$@" 2>&1); then printf '%s\n' "ufw $* failed:" "$out" >&2; exit 1; fi; }
`

// ufwScript is the shell script that runs cmds (each ufw's arguments) in
// one remote command.
func ufwScript(cmds [][]string) string {
	var b strings.Builder
	b.WriteString(ufwScriptHead)
	for _, c := range cmds {
		b.WriteString("u")
		for _, arg := range c {
			b.WriteString(" " + hosts.Quote(arg))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func runUFW(ctx context.Context, h hosts.Host, cmds [][]string) error {
	res, err := h.Run(ctx, ufwScript(cmds))
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("exit status %d: %s", res.ExitCode, tail(res.Stderr, res.Stdout))
	}
	return nil
}

// defaultsFile is the atomic rewrite of /etc/default/ufw with content,
// keeping the file's mode and owner.
func defaultsFile(h *ufwHost, content []byte) *UFWDefaultsFile {
	fi := h.defaultInfo
	w := &UFWDefaultsFile{Content: string(content), Mode: 0o644, Owner: "root", Group: "root"}
	if fi.Exists {
		w.Mode, w.Owner, w.Group = OctalMode(fi.Mode), keepOwner(fi.UID), keepOwner(fi.GID)
	}
	return w
}
