package ufw

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Goal is the firewall a plan declares: on or off, the default policies,
// IPv6 support and the incoming rules, in the plan's order.
type Goal struct {
	Enabled   bool
	Incoming  string // deny | allow | reject
	Outgoing  string
	IPv6      bool
	Exclusive bool // delete the host's rules the plan does not declare
	Rules     []*PlanRule
}

// PlanRule is one declared rule.
type PlanRule struct {
	N       int    // 1-based, in declaration order
	Where   string // how messages name it: "rule 2 (plan.hcl:14)"
	Action  string // allow | deny | limit | reject
	Proto   string // tcp | udp | any
	Port    string // as ufw stores it (NormalizePorts); "any": every port
	From    string // "any", or an address or network as ufw stores it (NormalizeSource)
	Comment string
	// Families are where the rule applies: both for from = "any" (IPv4
	// only with ipv6 = false), one for an address, or one for "0.0.0.0/0"
	// and "::/0", which FamAny marks.
	Families []Family
	FamAny   bool
}

// Rule is the plan rule as ufw stores it in one family's list.
func (r *PlanRule) Rule() Rule {
	return Rule{Key: Key{Proto: r.Proto, DPort: r.Port, Dst: "any", SPort: "any", Src: r.From, Dir: "in"},
		Action: r.Action, Comment: r.Comment}
}

// Describe renders the rule for people: "allow 22/tcp from any (ssh)".
func (r *PlanRule) Describe(ipv6 bool) string {
	return describeRule(r.Rule(), r.Families, ipv6)
}

func (r *PlanRule) where() string {
	if r.Where == "" {
		return fmt.Sprintf("rule %d", r.N)
	}
	return r.Where
}

// families are the lists the plan manages: IPv6 only with ipv6 = true
// (with IPV6=no ufw ignores its IPv6 rules and drops all IPv6 traffic).
func (g *Goal) families() []Family {
	if g.IPv6 {
		return []Family{V4, V6}
	}
	return []Family{V4}
}

// Summary is the plan's firewall in a few words.
func (g *Goal) Summary() string {
	return fmt.Sprintf("%s, default %s incoming, %s outgoing", plural(len(g.Rules), "rule"), g.Incoming, g.Outgoing)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// CommentWord says why ufw's command line cannot take comment c, ""
// when it can. ufw looks for some words among all its arguments, the
// comment's included (ufw 0.36.2, parser.py: "Option 'log' not allowed
// here", "Invalid interface clause"), and /usr/sbin/ufw takes any argument
// starting with --rootdir= or --datadir= as its own option.
func CommentWord(c string) string {
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

// NormalizePorts checks a port, range ("6000:6007") or comma list of them
// and writes it as ufw stores it: numbers without leading zeros, the list
// sorted as ufw sorts it.
func NormalizePorts(s string) (string, error) {
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

// NormalizeSource checks a from address and writes it as ufw stores it:
// "any"; an address; a network with its host bits cleared ("192.168.0.5/24"
// is 192.168.0.0/24); a full-length prefix as the address. fam is 0 for
// "any", else the one family the source belongs to ("0.0.0.0/0" is "any"
// for IPv4 only).
func NormalizeSource(s string) (string, Family, error) {
	if s == "any" {
		return "any", 0, nil
	}
	famOf := func(a netip.Addr) Family {
		if a.Is4() {
			return V4
		}
		return V6
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
