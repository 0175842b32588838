package tasks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
)

// UFW manages the ufw firewall declaratively: on or off, the default
// policies, IPv6 support and the incoming rules.
//
// ufw_parse.go reads what the host says, ufw_rules.go works out the change
// and the commands that make it, and ufw_lockout.go refuses a plan that
// would cut the SSH connection hako is using.
type UFW struct {
	addr      Address
	enabled   bool
	incoming  string // deny | allow | reject
	outgoing  string
	ipv6      bool
	exclusive bool
	rules     []*ufwPlanRule
}

// ufwPlanRule is one `rule` block.
type ufwPlanRule struct {
	n       int       // 1-based, in declaration order
	decl    hcl.Range // the block header, for messages
	action  string    // allow | deny | limit | reject
	proto   string    // tcp | udp | any
	port    string    // as ufw stores it (lists sorted); "any": every port
	from    string    // "any", or an address or network as ufw stores it
	comment string
	// families are where the rule applies: both for from = "any" (IPv4
	// only with ipv6 = false), one for an address, or one for "0.0.0.0/0"
	// and "::/0", which famAny marks.
	families []ufwFamily
	famAny   bool
}

// rule is the plan rule as ufw stores it in one family's list.
func (r *ufwPlanRule) rule() ufwRule {
	return ufwRule{ufwKey: ufwKey{Proto: r.proto, DPort: r.port, Dst: "any", SPort: "any", Src: r.from, Dir: "in"},
		Action: r.action, Comment: r.comment}
}

func (r *ufwPlanRule) describe(ipv6 bool) string {
	return describeRule(r.rule(), r.families, ipv6)
}

// where names the rule in messages: "rule 2 (plan.hcl:14)".
func (r *ufwPlanRule) where() string {
	if r.decl.Filename == "" {
		return fmt.Sprintf("rule %d", r.n)
	}
	return fmt.Sprintf("rule %d (%s:%d)", r.n, r.decl.Filename, r.decl.Start.Line)
}

const (
	ufwStatusProbe  = "LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH ufw status verbose"
	ufwDefaultsPath = "/etc/default/ufw"
	ufwRulesPath    = "/etc/ufw/user.rules"
	ufwRules6Path   = "/etc/ufw/user6.rules"
	// ufwKernelIPv6 is missing when the kernel has no IPv6 (ipv6.disable=1):
	// ufw then keeps IPv4 rules only, whatever IPV6 says (use_ipv6 in
	// backend.py).
	ufwKernelIPv6 = "/proc/sys/net/ipv6"
)

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
		Decode: decodeUFW,
	})
}

func decodeUFW(a *attrs.Attrs) Task {
	u := &UFW{addr: Address{a.Kind, a.Name}, enabled: a.Bool("enabled", true), ipv6: a.Bool("ipv6", true),
		exclusive: a.Bool("exclusive", false)}
	u.incoming = oneOf(a, "default_incoming", "deny", "deny", "allow", "reject")
	u.outgoing = oneOf(a, "default_outgoing", "allow", "deny", "allow", "reject")
	// ufw keeps one rule per key and family: a second one would replace the first.
	type slot struct {
		key ufwKey
		fam ufwFamily
	}
	seen := map[slot]*ufwPlanRule{}
	for i, ra := range a.Blocks["rule"] {
		r := decodeUFWRule(ra, u.ipv6)
		if r == nil {
			continue
		}
		r.n = i + 1
		var dup *ufwPlanRule
		for _, f := range r.families {
			s := slot{r.rule().ufwKey, f}
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
					u.addr, dup.n, dup.describe(u.ipv6)),
				Subject: ra.Decl.Ptr(),
			})
			continue
		}
		u.rules = append(u.rules, r)
	}
	return u
}

// decodeUFWRule decodes one rule block; nil when it is invalid (the
// diagnostics say why) or not fully known (validate without all values).
func decodeUFWRule(a *attrs.Attrs, ipv6 bool) *ufwPlanRule {
	r := &ufwPlanRule{decl: a.Decl, port: "any", from: "any", families: []ufwFamily{famV4, famV6}}
	if !ipv6 {
		r.families = []ufwFamily{famV4}
	}
	known := true
	for name := range a.Items {
		known = known && isKnown(a, name)
	}
	r.action = oneOf(a, "action", "allow", "allow", "deny", "limit", "reject")
	r.proto = oneOf(a, "proto", "any", "tcp", "udp", "any")
	if s, ok := knownString(a, "port"); ok {
		p, err := normalizePorts(s)
		switch {
		case err != nil:
			a.AttrErrorf("port", "Invalid port", "%v.", err)
		case strings.ContainsAny(p, ",:") && r.proto == "any":
			a.AttrErrorf("port", "Invalid port", "a port range or list needs proto = \"tcp\" or \"udp\" (ufw cannot match several ports of any protocol).")
		default:
			r.port = p
		}
	}
	if s, ok := knownString(a, "from"); ok {
		from, fam, err := normalizeSource(s)
		switch {
		case err != nil:
			a.AttrErrorf("from", "Invalid source address", "%v.", err)
		case fam == famV6 && !ipv6:
			a.AttrErrorf("from", "Invalid source address", "%s is an IPv6 source, but the task sets ipv6 = false, so ufw keeps no IPv6 rules.", s)
		case fam != 0:
			r.from, r.families, r.famAny = from, []ufwFamily{fam}, from == "any"
		}
	}
	if s, ok := knownString(a, "comment"); ok {
		r.comment = s
		if i := strings.IndexFunc(s, func(c rune) bool { return c == '\'' || unicode.IsControl(c) }); i >= 0 {
			c, _ := utf8.DecodeRuneInString(s[i:])
			a.AttrErrorf("comment", "Invalid comment", "ufw cannot store a comment with %q in it.", string(c))
		} else if why := ufwCommentWord(s); why != "" {
			a.AttrErrorf("comment", "Invalid comment", "%s, so ufw refuses the rule; reword the comment.", why)
		}
	}
	if a.Diags.HasErrors() || !known {
		return nil
	}
	if !a.Has("port") && r.from == "any" {
		a.Errorf("Invalid firewall rule", "a rule needs a port or a from address (one for every port from anywhere would replace the default policy).")
		return nil
	}
	return r
}

// ufwCommentWord says why ufw's command line cannot take comment c, ""
// when it can. ufw looks for some words among all its arguments, the
// comment's included (ufw 0.36.2, parser.py: "Option 'log' not allowed
// here", "Invalid interface clause"), and /usr/sbin/ufw takes any argument
// starting with --rootdir= or --datadir= as its own option.
func ufwCommentWord(c string) string {
	switch {
	case c == "log" || c == "log-all" || c == "in" || c == "out":
		return fmt.Sprintf("ufw reads the comment %q as its keyword %q", c, c)
	case strings.HasPrefix(c, "--rootdir=") || strings.HasPrefix(c, "--datadir="):
		opt, _, _ := strings.Cut(c, "=")
		return fmt.Sprintf("ufw reads a comment starting with %q as its option %s", opt+"=", opt)
	}
	return ""
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

// normalizePorts checks a port, range ("6000:6007") or comma list of them
// and writes it as ufw stores it: numbers without leading zeros, the list
// sorted as ufw sorts it.
func normalizePorts(s string) (string, error) {
	type span struct{ lo, hi int }
	var spans []span
	count := 0
	num := func(t string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || n < 1 || n > 65535 {
			return 0, fmt.Errorf("%q is not a port number (1 to 65535)", strings.TrimSpace(t))
		}
		return n, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := num(lo)
		if err != nil {
			return "", err
		}
		b := a
		if isRange {
			if b, err = num(hi); err != nil {
				return "", err
			}
			if b <= a {
				return "", fmt.Errorf("the range %q must go from a lower to a higher port", strings.TrimSpace(part))
			}
			count++
		}
		count++
		spans = append(spans, span{a, b})
	}
	if count > 15 {
		return "", fmt.Errorf("%q names more than 15 ports (a range counts as two), more than ufw can match in one rule", s)
	}
	// ufw sorts the list with human_sort (util.py), which compares the
	// numbers and separators of each entry in turn: "80" before "80:90"
	// before "80:95" before "81".
	sort.Slice(spans, func(i, j int) bool {
		a, b := spans[i], spans[j]
		if a.lo != b.lo {
			return a.lo < b.lo
		}
		if (a.lo == a.hi) != (b.lo == b.hi) {
			return a.lo == a.hi
		}
		return a.hi < b.hi
	})
	var out []string
	for i, sp := range spans {
		if i > 0 && sp == spans[i-1] {
			return "", fmt.Errorf("%q lists a port twice", s)
		}
		if sp.lo == sp.hi {
			out = append(out, strconv.Itoa(sp.lo))
		} else {
			out = append(out, fmt.Sprintf("%d:%d", sp.lo, sp.hi))
		}
	}
	return strings.Join(out, ","), nil
}

// normalizeSource checks a from address and writes it as ufw stores it:
// "any"; an address; a network with its host bits cleared ("192.168.0.5/24"
// is 192.168.0.0/24); a full-length prefix as the address. fam is 0 for
// "any", else the one family the source belongs to ("0.0.0.0/0" is "any"
// for IPv4 only).
func normalizeSource(s string) (string, ufwFamily, error) {
	if s == "any" {
		return "any", 0, nil
	}
	famOf := func(a netip.Addr) ufwFamily {
		if a.Is4() {
			return famV4
		}
		return famV6
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", 0, fmt.Errorf("from must be \"any\", an IP address or a network such as \"192.168.0.0/24\", got %q", s)
		}
		p = p.Masked()
		switch p.Bits() {
		case 0:
			return "any", famOf(p.Addr()), nil
		case p.Addr().BitLen():
			return p.Addr().String(), famOf(p.Addr()), nil
		}
		return p.String(), famOf(p.Addr()), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", 0, fmt.Errorf("from must be \"any\", an IP address or a network such as \"192.168.0.0/24\", got %q", s)
	}
	return a.String(), famOf(a), nil
}

func (u *UFW) Address() Address { return u.addr }

func (u *UFW) Probes() []Probe {
	return []Probe{
		{ProbeOut, ufwStatusProbe},
		{ProbeStat, ufwDefaultsPath}, {ProbeRead, ufwDefaultsPath},
		{ProbeRead, ufwRulesPath}, {ProbeRead, ufwRules6Path},
		{ProbeStat, ufwKernelIPv6},
	}
}

// ufwHost is the firewall as the probes found it.
type ufwHost struct {
	status ufwStatus
	// defaults are those in force: the running ones when ufw is active,
	// else those /etc/default/ufw holds for the next start.
	defaults    ufwDefaults
	defaultFile []byte
	defaultInfo FileInfo
	lists       map[ufwFamily][]ufwRule
}

func readUFWHost(s *State) (*ufwHost, error) {
	h := &ufwHost{lists: map[ufwFamily][]ufwRule{}}
	var err error
	if h.status, err = parseStatus(s.Output(ufwStatusProbe)); err != nil || !h.status.Installed {
		return h, err
	}
	h.defaultInfo = s.Stat(ufwDefaultsPath)
	c := s.Content(ufwDefaultsPath)
	if !c.Readable {
		return nil, fmt.Errorf("cannot read %s (is ufw installed completely?)", ufwDefaultsPath)
	}
	h.defaultFile = c.Data
	h.defaults = parseDefaultFile(c.Data)
	if h.status.Active {
		h.defaults.Incoming, h.defaults.Outgoing = h.status.Incoming, h.status.Outgoing
	}
	for f, path := range map[ufwFamily]string{famV4: ufwRulesPath, famV6: ufwRules6Path} {
		c := s.Content(path)
		if !c.Readable {
			return nil, fmt.Errorf("cannot read %s (ufw needs root: set become = true on the host)", path)
		}
		if h.lists[f], err = parseUserRules(c.Data); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return h, nil
}

func (u *UFW) Check(s *State) (*Change, error) {
	if u.ipv6 && !s.Stat(ufwKernelIPv6).Exists {
		return nil, fmt.Errorf("the host's kernel has no IPv6 (%s is missing, as with the boot option ipv6.disable=1), so ufw keeps IPv4 rules only and refuses IPv6 ones; set ipv6 = false in this task for such a host", ufwKernelIPv6)
	}
	h, err := readUFWHost(s)
	if err != nil {
		return nil, err
	}
	cv, err := u.converge(h)
	if err != nil {
		return nil, err
	}
	if s.MigrateTo != 0 && s.MigrateTo != s.Endpoint.ServerPort && cv.enabled {
		if cv, err = u.migrationCheck(s, h, cv); err != nil {
			return nil, err
		}
	}
	c := &Change{Address: u.addr, Attrs: cv.attrs, detail: cv}
	switch {
	case len(cv.attrs) == 0:
		c.Summary = u.describeState(h)
	case u.enabled && !h.status.Active:
		c.Action, c.Summary = Create, "enable ufw: "+u.describeGoal()
		if !h.status.Installed {
			c.Summary = "ufw is not installed yet (an earlier task must install it); then enable it: " + u.describeGoal()
		}
	default:
		c.Action, c.Summary = Update, "update ufw: "+cv.summary()
		if !h.status.Installed {
			c.Summary = "ufw is not installed yet (an earlier task must install it); then configure it: " + u.describeGoal()
		}
	}
	if c.Changed() && s.MigrateTo == 0 {
		if err := s.refuse(u.lockout(s.Endpoint, cv)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// describeGoal is the plan's firewall in a few words.
func (u *UFW) describeGoal() string {
	return fmt.Sprintf("%s, default %s incoming, %s outgoing", plural(len(u.rules), "rule"), u.incoming, u.outgoing)
}

func (u *UFW) describeState(h *ufwHost) string {
	status := "inactive"
	if h.status.Active {
		status = "active"
	}
	n := len(h.lists[famV4])
	if u.ipv6 {
		n = len(mergeFamilies(h.lists, u.ipv6))
	}
	return fmt.Sprintf("ufw %s: %s, default %s incoming, %s outgoing", status, plural(n, "rule"), h.defaults.Incoming, h.defaults.Outgoing)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (u *UFW) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	cv := c.detail.(*ufwConvergence)
	if !cv.installed {
		return errors.New("ufw is not installed on the host: install it first (for example with a package task before this one)")
	}
	if len(cv.before) > 0 {
		if err := runUFW(ctx, h, cv.before); err != nil {
			return err
		}
	}
	if cv.defaults != nil {
		if err := h.WriteFile(ctx, *cv.defaults); err != nil {
			return fmt.Errorf("writing %s: %w", ufwDefaultsPath, err)
		}
	}
	if len(cv.cmds) > 0 {
		return runUFW(ctx, h, cv.cmds)
	}
	return nil
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

// defaultsWrite is the atomic rewrite of /etc/default/ufw with IPV6 set,
// keeping the file's other lines, mode and owner.
func defaultsWrite(h *ufwHost, ipv6 bool) *hosts.FileWrite {
	fi := h.defaultInfo
	w := &hosts.FileWrite{Path: ufwDefaultsPath, Content: setIPv6(h.defaultFile, ipv6), Mode: os.FileMode(0o644),
		Owner: "root", Group: "root"}
	if fi.Exists {
		w.Mode, w.Owner, w.Group = fileMode(fi.Mode), keepOwner(fi.UID), keepOwner(fi.GID)
	}
	return w
}
