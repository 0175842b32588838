package tasks

import (
	"fmt"
	"strings"

	"github.com/hako-dev/hako/hosts"
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
// ufwSim works out what each command does to the lists exactly as ufw's
// backend does it (set_rule in backend_iptables.py, ufw 0.36.2), which is
// not always what the command seems to say: adding a rule replaces every
// rule with its key, `ufw delete` without a comment also deletes the rules
// that differ from it only by their comment, `ufw insert N` counts an
// application rule's lines once. The firewall the lockout check examines
// is the one the commands really leave.

// ufwEntry is a rule in one family's list as it will be.
type ufwEntry struct {
	ufwRule
	plan int // the declaring plan rule's n; 0 for a rule the plan does not declare
	host int // 1 + its index in the host's list; 0 for a rule hako adds
}

// ufwConvergence is a worked-out change: what Apply carries out, and the
// firewall it leaves, which the lockout check examines.
type ufwConvergence struct {
	installed    bool
	before       [][]string       // ufw commands run before /etc/default/ufw is written
	defaults     *hosts.FileWrite // /etc/default/ufw with the new IPV6
	cmds         [][]string       // the rest, in one script
	attrs        []AttrChange
	summaryParts []string

	// The firewall after Apply.
	enabled  bool
	ipv6     bool
	incoming string
	final    map[ufwFamily][]ufwEntry
	rules    map[int]*ufwPlanRule // by n, for messages
}

func (cv *ufwConvergence) summary() string { return strings.Join(cv.summaryParts, ", ") }

// families are the lists the plan manages: IPv6 only with ipv6 = true
// (with IPV6=no ufw ignores its IPv6 rules and drops all IPv6 traffic).
func (u *UFW) families() []ufwFamily {
	if u.ipv6 {
		return []ufwFamily{famV4, famV6}
	}
	return []ufwFamily{famV4}
}

// converge works out the change; an error when ufw's commands cannot
// make the firewall the plan declares.
func (u *UFW) converge(h *ufwHost) (*ufwConvergence, error) {
	cv := &ufwConvergence{installed: h.status.Installed, enabled: u.enabled, ipv6: u.ipv6,
		incoming: u.incoming, rules: map[int]*ufwPlanRule{}}
	for _, r := range u.rules {
		cv.rules[r.n] = r
	}
	s := &ufwSim{lists: map[ufwFamily][]ufwEntry{}, fams: u.families(), ipv6: u.ipv6, plan: u.rules, rules: cv.rules}
	for _, f := range []ufwFamily{famV4, famV6} {
		for i, r := range h.lists[f] {
			s.lists[f] = append(s.lists[f], ufwEntry{ufwRule: r, host: i + 1})
		}
	}
	// Each declared rule claims the host's rule with its key in each
	// family: the first one as declared, else the first one.
	for _, r := range u.rules {
		want := r.rule()
		for _, f := range r.families {
			claim := -1
			for i, e := range s.lists[f] {
				if e.plan != 0 || e.ufwKey != want.ufwKey {
					continue
				}
				if e.ufwRule == want {
					claim = i
					break
				}
				if claim < 0 {
					claim = i
				}
			}
			if claim >= 0 {
				s.lists[f][claim].plan = r.n
			}
		}
	}
	host := map[ufwFamily][]ufwEntry{}
	for f, l := range s.lists {
		host[f] = append([]ufwEntry(nil), l...)
	}

	status := "inactive"
	switch {
	case !h.status.Installed:
		status = "not installed"
	case h.status.Active:
		status = "active"
	}
	want := "inactive"
	if u.enabled {
		want = "active"
	}
	if status != want {
		cv.attr("status", status, want)
		if !u.enabled {
			cv.summaryParts = append(cv.summaryParts, "disable")
		}
	}
	if h.status.Active && !u.enabled {
		cv.before = append(cv.before, []string{"disable"})
	}
	if !h.status.Installed || h.defaults.IPv6 != u.ipv6 {
		before := ""
		if h.status.Installed {
			before = yesNo(h.defaults.IPv6)
			cv.defaults = defaultsWrite(h, u.ipv6)
			cv.summaryParts = append(cv.summaryParts, "IPV6="+yesNo(u.ipv6))
		}
		cv.attr("IPV6", before, yesNo(u.ipv6))
		if h.status.Active && u.enabled {
			s.cmd("reload")
		}
	}

	for _, r := range u.rules {
		if r.action == "allow" || r.action == "limit" {
			s.place(r)
		}
	}
	if u.exclusive {
		s.deleteUndeclared(func(ufwEntry) bool { return true })
	} else {
		s.deleteUndeclared(func(e ufwEntry) bool { return e.Comment == ufwTempComment })
	}
	for _, r := range u.rules {
		if r.action == "deny" || r.action == "reject" {
			s.place(r)
		}
	}
	s.verify()
	if s.err != nil {
		return nil, s.err
	}

	for _, d := range []struct{ dir, have, want string }{
		{"incoming", h.defaults.Incoming, u.incoming}, {"outgoing", h.defaults.Outgoing, u.outgoing},
	} {
		if d.have != d.want {
			cv.attr("default "+d.dir, d.have, d.want)
			s.cmd("default", d.want, d.dir)
			if h.status.Installed {
				cv.summaryParts = append(cv.summaryParts, fmt.Sprintf("default %s %s", d.want, d.dir))
			}
		}
	}
	if u.enabled && !h.status.Active {
		s.cmd("--force", "enable")
	}

	// The rule lines: each declared rule that is missing or differs, in
	// plan order, then the host's other rules that the commands change or
	// delete.
	added, changed := 0, 0
	for _, r := range u.rules {
		before := describePresent(host, r, u.ipv6)
		if after := r.describe(u.ipv6); before != after || !fullyPresent(host, r) {
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
	cv.attrs = append(cv.attrs, others...)
	if h.status.Installed {
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
		cv.summaryParts = append(parts, cv.summaryParts...)
	}
	cv.cmds = s.cmds
	cv.final = s.lists
	return cv, nil
}

func (cv *ufwConvergence) attr(name, before, after string) {
	cv.attrs = append(cv.attrs, AttrChange{Name: name, Before: before, After: after})
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
func describeRule(r ufwRule, fams []ufwFamily, ipv6 bool) string {
	src := ""
	if ipv6 && len(fams) == 1 && r.Src == "any" && r.Dst == "any" {
		src = fams[0].anyAddr()
	}
	if !r.simple() {
		return ufwCommand(r, src)
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
func describePresent(lists map[ufwFamily][]ufwEntry, r *ufwPlanRule, ipv6 bool) string {
	type group struct {
		rule ufwRule
		fams []ufwFamily
	}
	var groups []*group
	for _, f := range r.families {
		for _, e := range lists[f] {
			if e.plan != r.n {
				continue
			}
			var g *group
			for _, o := range groups {
				if o.rule == e.ufwRule {
					g = o
				}
			}
			if g == nil {
				g = &group{rule: e.ufwRule}
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
func fullyPresent(lists map[ufwFamily][]ufwEntry, r *ufwPlanRule) bool {
	want := r.rule()
	for _, f := range r.families {
		ok := false
		for _, e := range lists[f] {
			if e.plan == r.n && e.ufwRule == want {
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
func mergeFamilies(lists map[ufwFamily][]ufwRule, ipv6 bool) []ufwRule {
	out := append([]ufwRule(nil), lists[famV4]...)
	if !ipv6 {
		return out
	}
	seen := map[ufwRule]bool{}
	for _, r := range lists[famV4] {
		seen[r] = true
	}
	for _, r := range lists[famV6] {
		if !seen[r] {
			out = append(out, r)
		}
	}
	return out
}
