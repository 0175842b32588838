package ufw

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
)

// What ufw keeps on the host, read from its files and its status, and how
// a rule is written back as a ufw command.
//
// Rules are read from the "### tuple ###" lines of /etc/ufw/user.rules and
// user6.rules, the files ufw itself loads, rather than from `ufw show
// added`: that listing merges the two address families and prints IPv6-only
// rules last ("approximate the order the rules were added", says ufw's
// source), while firewall rules match first-match in each family's own
// order, which the lockout check and the placement of new rules need.
// ruleCommand renders a rule exactly as `ufw show added` does (checked
// against captured output in the tests).

// Family is an address family: ufw keeps one rule list per family.
type Family int

const (
	V4 Family = 4
	V6 Family = 6
)

func (f Family) String() string {
	if f == V6 {
		return "IPv6"
	}
	return "IPv4"
}

// anyAddr is how the family's "any" address is written in a
// family-specific ufw command.
func (f Family) anyAddr() string {
	if f == V6 {
		return "::/0"
	}
	return "0.0.0.0/0"
}

// Key is what ufw identifies a rule by (UFWRule.match): adding a rule
// with the same key but another action, log type or comment replaces it in
// place. Addresses are "any" for 0.0.0.0/0 and ::/0, the list says which.
type Key struct {
	Proto    string `json:"proto"` // tcp, udp, any (ufw knows a few more)
	DPort    string `json:"dport"` // "any", "22", "6000:6007", "22,80,443"
	Dst      string `json:"dst"`
	SPort    string `json:"sport"`
	Src      string `json:"src"`
	DApp     string `json:"dapp,omitempty"` // application profile names
	SApp     string `json:"sapp,omitempty"`
	Dir      string `json:"dir"` // "in" or "out"
	IfaceIn  string `json:"iface_in,omitempty"`
	IfaceOut string `json:"iface_out,omitempty"`
	Route    bool   `json:"route,omitempty"` // a `ufw route` (forwarding) rule
}

// Rule is one rule of one family's list. The JSON names are those of a
// hako plan's JSON view (the ufw task's predicted final rules).
type Rule struct {
	Key
	Action  string `json:"action"`        // allow, deny, reject, limit
	Log     string `json:"log,omitempty"` // "", "log", "log-all"
	Comment string `json:"comment,omitempty"`
}

// simple reports whether the rule is of the form a plan declares: incoming,
// to any address on any interface, from any source port, no profiles.
func (k Key) simple() bool {
	return !k.Route && k.Dir == "in" && k.IfaceIn == "" && k.IfaceOut == "" &&
		k.Dst == "any" && k.SPort == "any" && k.DApp == "" && k.SApp == ""
}

// ParseUserRules reads the tuple lines of a user.rules or user6.rules file,
// in order, the way ufw's backend does (_read_rules).
func ParseUserRules(data []byte) ([]Rule, error) {
	var out []Rule
	sc := bufio.NewScanner(bytes.NewReader(data))
	// A line can be as long as the file; none is cut short.
	sc.Buffer(make([]byte, 64*1024), len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line, ok := strings.CutPrefix(sc.Text(), "### tuple ###")
		if !ok {
			continue
		}
		r, err := parseTuple(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// parseTuple reads "ACTION[_LOG] PROTO DPORT DST SPORT SRC [DAPP SAPP]
// DIR[_IFACE] [comment=HEX]".
func parseTuple(line string) (Rule, error) {
	var r Rule
	line, hexComment, hasComment := strings.Cut(line, " comment=")
	if hasComment {
		c, err := hex.DecodeString(strings.TrimSpace(hexComment))
		if err != nil {
			return r, fmt.Errorf("bad comment in tuple %q", strings.TrimSpace(line))
		}
		r.Comment = string(c)
	}
	f := strings.Fields(line)
	if len(f) < 6 || len(f) > 9 {
		return r, fmt.Errorf("unexpected tuple %q", strings.TrimSpace(line))
	}
	action := f[0]
	if route, ok := strings.CutPrefix(action, "route:"); ok {
		r.Route, action = true, route
	}
	r.Action, r.Log, _ = strings.Cut(action, "_")
	switch r.Action {
	case "allow", "deny", "reject", "limit":
	default:
		return r, fmt.Errorf("unknown action in tuple %q", strings.TrimSpace(line))
	}
	r.Proto, r.DPort, r.Dst, r.SPort, r.Src = f[1], f[2], anyIfZero(f[3]), f[4], anyIfZero(f[5])
	r.Dir = "in" // the old 6- and 8-field format had no direction
	if len(f) >= 8 {
		r.DApp, r.SApp = appName(f[6]), appName(f[7])
	}
	if len(f) == 7 || len(f) == 9 {
		d := f[len(f)-1]
		dir, iface, _ := strings.Cut(d, "_")
		r.Dir = dir
		if in, out, both := strings.Cut(d, "!"); both {
			r.IfaceIn = strings.TrimPrefix(in, "in_")
			r.IfaceOut = strings.TrimPrefix(out, "out_")
			r.Dir = "in"
		} else if iface != "" {
			if dir == "out" {
				r.IfaceOut = iface
			} else {
				r.IfaceIn = iface
			}
		}
	}
	return r, nil
}

func anyIfZero(addr string) string {
	if addr == "0.0.0.0/0" || addr == "::/0" {
		return "any"
	}
	return addr
}

func appName(s string) string {
	if s == "-" {
		return ""
	}
	return strings.ReplaceAll(s, "%20", " ")
}

// ruleArgs are the arguments of the ufw command that adds r, as ufw's
// get_command writes it (`ufw show added`), without the comment. src, when
// set, replaces an "any" source to name one family ("0.0.0.0/0" adds the
// IPv4 rule only), which forces the full syntax.
func ruleArgs(r Rule, src string) []string {
	var a []string
	if r.Route {
		a = append(a, "route")
	}
	a = append(a, r.Action)
	if src == "" && r.Dst == "any" && r.Src == "any" && r.SPort == "any" && r.SApp == "" &&
		r.IfaceIn == "" && r.IfaceOut == "" && r.DPort != "any" {
		if r.Dir == "out" {
			a = append(a, "out")
		}
		if r.Log != "" {
			a = append(a, r.Log)
		}
		switch {
		case r.DApp != "":
			a = append(a, r.DApp)
		case r.Proto != "any":
			a = append(a, r.DPort+"/"+r.Proto)
		default:
			a = append(a, r.DPort)
		}
		return a
	}
	if r.IfaceIn != "" {
		a = append(a, "in", "on", r.IfaceIn)
	}
	if r.IfaceOut != "" {
		a = append(a, "out", "on", r.IfaceOut)
	} else if r.Dir == "out" {
		a = append(a, "out")
	}
	if r.Log != "" {
		a = append(a, r.Log)
	}
	ends := false
	for _, e := range []struct{ word, loc, port, app string }{
		{"from", r.Src, r.SPort, r.SApp}, {"to", r.Dst, r.DPort, r.DApp},
	} {
		if e.word == "from" && src != "" && e.loc == "any" {
			e.loc = src
		}
		if e.loc == "any" && e.port == "any" && e.app == "" {
			continue
		}
		ends = true
		a = append(a, e.word, e.loc)
		switch {
		case e.app != "":
			a = append(a, "app", e.app)
		case e.port != "any":
			a = append(a, "port", e.port)
		}
	}
	if !ends && r.IfaceIn == "" && r.IfaceOut == "" {
		a = append(a, "to", "any")
	}
	if r.Proto != "any" && r.DApp == "" && r.SApp == "" {
		a = append(a, "proto", r.Proto)
	}
	return a
}

// ruleCommand is the rule as `ufw show added` prints it, after "ufw ".
func ruleCommand(r Rule, src string) string {
	var b strings.Builder
	for i, arg := range ruleArgs(r, src) {
		if i > 0 {
			b.WriteByte(' ')
		}
		if strings.Contains(arg, " ") {
			arg = "'" + arg + "'"
		}
		b.WriteString(arg)
	}
	if r.Comment != "" {
		b.WriteString(" comment '" + r.Comment + "'")
	}
	return b.String()
}

// Status is what `ufw status verbose` says.
type Status struct {
	Installed bool
	Active    bool
	// Incoming and Outgoing are the running defaults (only when active).
	Incoming, Outgoing string
}

// ParseStatus reads `ufw status verbose` from its exit status and standard
// output; exit status 127 means ufw is not installed (the shell found no
// command).
func ParseStatus(exitCode int, stdout []byte) (Status, error) {
	var st Status
	switch exitCode {
	case 0:
	case 127:
		return st, nil
	default:
		return st, fmt.Errorf("`ufw status verbose` failed with exit status %d (ufw needs root: is become = true set on the host?)", exitCode)
	}
	st.Installed = true
	lines := strings.Split(string(stdout), "\n")
	switch strings.TrimSpace(lines[0]) {
	case "Status: active":
		st.Active = true
	case "Status: inactive":
		return st, nil
	default:
		return st, fmt.Errorf("unexpected output of `ufw status verbose`: %.80q", lines[0])
	}
	for _, l := range lines[1:] {
		def, ok := strings.CutPrefix(l, "Default: ")
		if !ok {
			continue
		}
		// Default: deny (incoming), allow (outgoing), disabled (routed)
		for _, part := range strings.Split(def, ",") {
			policy, dir, _ := strings.Cut(strings.TrimSpace(part), " ")
			switch dir {
			case "(incoming)":
				st.Incoming = policy
			case "(outgoing)":
				st.Outgoing = policy
			}
		}
	}
	if st.Incoming == "" || st.Outgoing == "" {
		return st, fmt.Errorf("`ufw status verbose` shows no default policies")
	}
	return st, nil
}

// The files ufw keeps its settings and rules in.
const (
	DefaultsPath = "/etc/default/ufw"
	RulesPath    = "/etc/ufw/user.rules"
	Rules6Path   = "/etc/ufw/user6.rules"
)

// Host is the firewall as a host has it.
type Host struct {
	Status Status
	// Defaults are those in force: the running ones when ufw is active,
	// else those /etc/default/ufw holds for the next start.
	Defaults    Defaults
	DefaultFile []byte // /etc/default/ufw
	Lists       map[Family][]Rule
}

// NewHost reads the firewall from what `ufw status verbose` said,
// /etc/default/ufw and the two rules files (v4: user.rules, v6:
// user6.rules).
func NewHost(st Status, defaultFile, v4, v6 []byte) (*Host, error) {
	h := &Host{Status: st, DefaultFile: defaultFile, Defaults: ParseDefaultFile(defaultFile), Lists: map[Family][]Rule{}}
	if st.Active {
		h.Defaults.Incoming, h.Defaults.Outgoing = st.Incoming, st.Outgoing
	}
	for _, l := range []struct {
		f    Family
		path string
		data []byte
	}{{V4, RulesPath, v4}, {V6, Rules6Path, v6}} {
		var err error
		if h.Lists[l.f], err = ParseUserRules(l.data); err != nil {
			return nil, fmt.Errorf("%s: %w", l.path, err)
		}
	}
	return h, nil
}

// Summary says what the host has, e.g. "ufw active: 4 rules, default deny
// incoming, allow outgoing"; with ipv6, a rule in both lists counts once.
func (h *Host) Summary(ipv6 bool) string {
	status := "inactive"
	if h.Status.Active {
		status = "active"
	}
	n := len(h.Lists[V4])
	if ipv6 {
		n = len(mergeFamilies(h.Lists, ipv6))
	}
	return fmt.Sprintf("ufw %s: %s, default %s incoming, %s outgoing", status, plural(n, "rule"), h.Defaults.Incoming, h.Defaults.Outgoing)
}

// Defaults is what /etc/default/ufw says.
type Defaults struct {
	IPv6               bool
	Incoming, Outgoing string // deny, allow, reject
}

// ParseDefaultFile reads the settings of /etc/default/ufw that hako
// manages, as ufw reads them (quotes removed, case ignored).
func ParseDefaultFile(data []byte) Defaults {
	var d Defaults
	policy := map[string]string{"drop": "deny", "accept": "allow", "reject": "reject"}
	for _, l := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok {
			continue
		}
		v = strings.ToLower(strings.Trim(strings.TrimSpace(v), `"'`))
		switch strings.TrimSpace(k) {
		case "IPV6":
			d.IPv6 = v == "yes"
		case "DEFAULT_INPUT_POLICY":
			d.Incoming = policy[v]
		case "DEFAULT_OUTPUT_POLICY":
			d.Outgoing = policy[v]
		}
	}
	return d
}

// SetIPv6 returns /etc/default/ufw with its IPV6 line set to on, keeping
// everything else; without such a line it appends one.
func SetIPv6(data []byte, on bool) []byte {
	val := "IPV6=no"
	if on {
		val = "IPV6=yes"
	}
	lines := strings.SplitAfter(string(data), "\n")
	found := false
	for i, l := range lines {
		if k, _, ok := strings.Cut(strings.TrimSpace(l), "="); ok && strings.TrimSpace(k) == "IPV6" {
			nl := ""
			if strings.HasSuffix(l, "\n") {
				nl = "\n"
			}
			lines[i], found = val+nl, true
		}
	}
	out := strings.Join(lines, "")
	if !found {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += val + "\n"
	}
	return []byte(out)
}
