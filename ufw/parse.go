package ufw

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
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
	// ufw reads the file as UTF-8 text, with Python's universal newlines
	// (\r ends a line too), and fails on other bytes.
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("not UTF-8 text (ufw cannot read it either)")
	}
	var out []Rule
	for i, l := range pyLines(string(data)) {
		// ufw splits every line at " comment=" before it looks for a
		// tuple, and fails on a line with two.
		if strings.Count(l, " comment=") > 1 {
			return nil, fmt.Errorf("line %d: two comments (ufw fails on this line)", i+1)
		}
		line, ok := strings.CutPrefix(l, "### tuple ###")
		if !ok {
			continue
		}
		r, err := parseTuple(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
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
	f := strings.FieldsFunc(line, pySpace)
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

// SetIPv6 returns /etc/default/ufw with its IPV6 lines set to on,
// keeping everything else. When ufw would still not read the setting as
// on (no such line, or another line it reads as IPV6 after them, such as
// ipv6=no) it appends one, which ufw reads last.
func SetIPv6(data []byte, on bool) []byte {
	val := "IPV6=no"
	if on {
		val = "IPV6=yes"
	}
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		// \r\n ends a line, and so does a \r that ends the file.
		body, nl := strings.CutSuffix(l, "\n")
		if nl || i == len(lines)-1 {
			body = strings.TrimSuffix(body, "\r")
		}
		// A carriage return inside the line ends a line for ufw: the
		// line holds more than one setting, which must stay.
		if strings.Contains(body, "\r") {
			continue
		}
		if k, _, ok := strings.Cut(strings.TrimSpace(body), "="); ok && strings.TrimSpace(k) == "IPV6" {
			lines[i] = val + strings.TrimPrefix(l, body)
		}
	}
	out := strings.Join(lines, "")
	if set, err := ParseSettings(NamedFile{DefaultsPath, []byte(out)}); err == nil && (set["ipv6"] == "yes") == on {
		return []byte(out)
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return []byte(out + val + "\n")
}
