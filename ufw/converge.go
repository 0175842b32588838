package ufw

import (
	"fmt"
	"strings"
)

// Working out a ufw change: the commands, in an order that never blocks
// the SSH session on the way, and the firewall they leave behind.
//
// Rules compare as sets: a declared rule that the host has (same port,
// protocol and source, per family) stays where it is; action and comment
// are updated in place, as ufw does when a rule is added again. A new rule
// goes right before the first rule of its family that the plan declares
// after it (`ufw insert`), else at the end, so new rules keep their
// declared order among the declared rules. Rules already on the host are
// not moved: hako does not reorder them to the plan's order. Rules the
// plan does not declare stay, in place, unless exclusive = true.
//
// The commands run in this order: `ufw disable` if the plan turns ufw off;
// /etc/default/ufw with the new IPV6 (and `ufw reload` if ufw is running,
// which it needs before rules of the other family can be added); the allow
// and limit rules; the deletion of undeclared rules; the deny and reject
// rules; the default policies; `ufw --force enable` last.
//
// sim works out what each command does to the lists exactly as ufw's
// backend does it (set_rule in backend_iptables.py, ufw 0.36.2), which is
// not always what the command seems to say: adding a rule replaces every
// rule with its key, `ufw delete` without a comment also deletes the rules
// that differ from it only by their comment, `ufw insert N` counts an
// application rule's lines once. The firewall the lockout check examines
// is the one the commands really leave.

// Entry is a rule in one family's list as it will be.
type Entry struct {
	Rule
	plan int // the declaring plan rule's N; 0 for a rule the plan does not declare
	host int // 1 + its index in the host's list; 0 for a rule hako adds
}

// Change is one line of what a convergence changes: Before and After are
// the setting or the rule as people read them, "" for none.
type Change struct {
	Name, Before, After string
}

// Convergence is a worked-out change: the ufw commands and the
// /etc/default/ufw that make the host's firewall the goal, and the
// firewall they leave, which the lockout check examines.
type Convergence struct {
	Installed bool       // ufw is installed (else nothing can be carried out)
	Before    [][]string // ufw commands (arguments) run before /etc/default/ufw is written
	Defaults  []byte     // /etc/default/ufw with the new IPV6; nil when it stays
	Cmds      [][]string // the rest, in order
	Changes   []Change
	summary   []string

	// The firewall after the commands.
	Enabled  bool
	IPv6     bool
	Incoming string
	Final    map[Family][]Entry // each family's rules, in ufw's order
	rules    map[int]*PlanRule  // by N, for messages
}

// Summary says what changes in a few words: "add 1 rule, IPV6=yes".
func (cv *Convergence) Summary() string { return strings.Join(cv.summary, ", ") }

// Converge works out the change from h to g; an error when ufw's commands
// cannot make the firewall g declares.
func Converge(h *Host, g *Goal) (*Convergence, error) {
	cv := &Convergence{Installed: h.Status.Installed, Enabled: g.Enabled, IPv6: g.IPv6,
		Incoming: g.Incoming, rules: map[int]*PlanRule{}}
	for _, r := range g.Rules {
		cv.rules[r.N] = r
	}
	s := &sim{lists: map[Family][]Entry{}, fams: g.families(), ipv6: g.IPv6, plan: g.Rules, rules: cv.rules}
	for _, f := range []Family{V4, V6} {
		for i, r := range h.Lists[f] {
			s.lists[f] = append(s.lists[f], Entry{Rule: r, host: i + 1})
		}
	}
	// Each declared rule claims the host's rule with its key in each
	// family: the first one as declared, else the first one.
	for _, r := range g.Rules {
		want := r.Rule()
		for _, f := range r.Families {
			claim := -1
			for i, e := range s.lists[f] {
				if e.plan != 0 || e.Key != want.Key {
					continue
				}
				if e.Rule == want {
					claim = i
					break
				}
				if claim < 0 {
					claim = i
				}
			}
			if claim >= 0 {
				s.lists[f][claim].plan = r.N
			}
		}
	}
	host := map[Family][]Entry{}
	for f, l := range s.lists {
		host[f] = append([]Entry(nil), l...)
	}

	// hako counts ufw as active only when it is on in full (Status.On):
	// rules loaded and ENABLED=yes. A host with one but not the other
	// (ufw.conf edited by hand, `systemctl stop ufw`, a rule command run
	// while ENABLED=no) is switched off first, with `ufw disable`, which
	// unloads the rules and sets ENABLED=no: from there the commands
	// change the files alone, and `ufw enable` at the end loads exactly
	// them. Left half on, ufw's commands would change the files and not
	// the running firewall, or fail on the missing chains.
	on := h.Status.On()
	status := h.Status.describe()
	want := "inactive"
	if g.Enabled {
		want = "active"
	}
	if status != want {
		cv.attr("status", status, want)
		if !g.Enabled {
			cv.summary = append(cv.summary, "disable")
		}
	}
	if (h.Status.Active || h.Status.Enabled) && !(on && g.Enabled) {
		cv.Before = append(cv.Before, []string{"disable"})
	}
	if !h.Status.Installed || h.Defaults.IPv6 != g.IPv6 {
		before := ""
		if h.Status.Installed {
			before = yesNo(h.Defaults.IPv6)
			cv.Defaults = SetIPv6(h.DefaultFile, g.IPv6)
			cv.summary = append(cv.summary, "IPV6="+yesNo(g.IPv6))
		}
		cv.attr("IPV6", before, yesNo(g.IPv6))
		if on && g.Enabled {
			s.cmd("reload")
		}
	}

	for _, r := range g.Rules {
		if r.Action == "allow" || r.Action == "limit" {
			s.place(r)
		}
	}
	if g.Exclusive {
		s.deleteUndeclared(func(Entry) bool { return true })
	} else {
		s.deleteUndeclared(func(e Entry) bool { return e.Comment == TemporaryComment })
	}
	for _, r := range g.Rules {
		if r.Action == "deny" || r.Action == "reject" {
			s.place(r)
		}
	}
	s.verify()
	if s.err != nil {
		return nil, s.err
	}

	for _, d := range []struct{ dir, have, want string }{
		{"incoming", h.Defaults.Incoming, g.Incoming}, {"outgoing", h.Defaults.Outgoing, g.Outgoing},
	} {
		if d.have != d.want {
			cv.attr("default "+d.dir, d.have, d.want)
			s.cmd("default", d.want, d.dir)
			if h.Status.Installed {
				cv.summary = append(cv.summary, fmt.Sprintf("default %s %s", d.want, d.dir))
			}
		}
	}
	if g.Enabled && !on {
		s.cmd("--force", "enable")
	}

	// The rule lines: each declared rule that is missing or differs, in
	// plan order, then the host's other rules that the commands change or
	// delete.
	added, changed := 0, 0
	for _, r := range g.Rules {
		before := describePresent(host, r, g.IPv6)
		if after := r.Describe(g.IPv6); before != after || !fullyPresent(host, r) {
			cv.attr("rule", before, after)
			if before == "" {
				added++
			} else {
				changed++
			}
		}
	}
	others := s.otherChanges(host)
	deleted := 0
	for _, a := range others {
		if a.After == "" {
			deleted++
		} else {
			changed++
		}
	}
	cv.Changes = append(cv.Changes, others...)
	if h.Status.Installed {
		var parts []string
		if added > 0 {
			parts = append(parts, "add "+plural(added, "rule"))
		}
		if changed > 0 {
			parts = append(parts, "change "+plural(changed, "rule"))
		}
		if deleted > 0 {
			parts = append(parts, "delete "+plural(deleted, "rule"))
		}
		cv.summary = append(parts, cv.summary...)
	}
	cv.Cmds = s.cmds
	cv.Final = s.lists
	return cv, nil
}

func (cv *Convergence) attr(name, before, after string) {
	cv.Changes = append(cv.Changes, Change{Name: name, Before: before, After: after})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// describeRule renders a rule for people, e.g. "allow 2222/tcp from any
// (ssh)"; fams are the families it is in. A rule from any address that
// is in one family only says which ("from 0.0.0.0/0"). Rules a plan cannot
// declare are shown as ufw's command for them.
func describeRule(r Rule, fams []Family, ipv6 bool) string {
	src := ""
	if ipv6 && len(fams) == 1 && r.Src == "any" && r.Dst == "any" {
		src = fams[0].anyAddr()
	}
	if !r.simple() {
		return ruleCommand(r, src)
	}
	var b strings.Builder
	b.WriteString(r.Action)
	if r.Log != "" {
		b.WriteString(" " + r.Log)
	}
	switch {
	case r.DPort != "any" && r.Proto != "any":
		b.WriteString(" " + r.DPort + "/" + r.Proto)
	case r.DPort != "any":
		b.WriteString(" " + r.DPort)
	case r.Proto != "any":
		b.WriteString(" all " + r.Proto + " ports")
	default:
		b.WriteString(" all ports")
	}
	if src == "" {
		src = r.Src
	}
	b.WriteString(" from " + src)
	if r.Comment != "" {
		b.WriteString(" (" + r.Comment + ")")
	}
	return b.String()
}

// describePresent describes what the host has of plan rule r, "" if
// nothing.
func describePresent(lists map[Family][]Entry, r *PlanRule, ipv6 bool) string {
	type group struct {
		rule Rule
		fams []Family
	}
	var groups []*group
	for _, f := range r.Families {
		for _, e := range lists[f] {
			if e.plan != r.N {
				continue
			}
			var g *group
			for _, o := range groups {
				if o.rule == e.Rule {
					g = o
				}
			}
			if g == nil {
				g = &group{rule: e.Rule}
				groups = append(groups, g)
			}
			g.fams = append(g.fams, f)
		}
	}
	var parts []string
	for _, g := range groups {
		parts = append(parts, describeRule(g.rule, g.fams, ipv6))
	}
	return strings.Join(parts, "; ")
}

// fullyPresent reports whether the host has plan rule r, as declared, in
// every family r wants.
func fullyPresent(lists map[Family][]Entry, r *PlanRule) bool {
	want := r.Rule()
	for _, f := range r.Families {
		ok := false
		for _, e := range lists[f] {
			if e.plan == r.N && e.Rule == want {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// mergeFamilies lists the rules as `ufw show added` does: IPv4 rules, then
// IPv6 rules that are not the same as an IPv4 one.
func mergeFamilies(lists map[Family][]Rule, ipv6 bool) []Rule {
	out := append([]Rule(nil), lists[V4]...)
	if !ipv6 {
		return out
	}
	seen := map[Rule]bool{}
	for _, r := range lists[V4] {
		seen[r] = true
	}
	for _, r := range lists[V6] {
		if !seen[r] {
			out = append(out, r)
		}
	}
	return out
}
