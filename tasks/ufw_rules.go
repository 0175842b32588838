package tasks

import (
	"fmt"
	"strconv"
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
// after it (`ufw insert`), else at the end, so declared rules keep their
// declared order, which is what first-match needs (a deny before an allow
// for the same port). Rules the plan does not declare stay, in place,
// unless exclusive = true.
//
// The commands run in this order: `ufw disable` if the plan turns ufw off;
// /etc/default/ufw with the new IPV6 (and `ufw reload` if ufw is running,
// which it needs before rules of the other family can be added); the allow
// and limit rules; the deletion of undeclared rules; the deny and reject
// rules; the default policies; `ufw --force enable` last.

// ufwEntry is a rule in one family's list as it will be.
type ufwEntry struct {
	ufwRule
	plan int // the declaring plan rule's n; 0 for a rule the plan does not declare
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
	s := &ufwSim{lists: map[ufwFamily][]ufwEntry{}, ipv6: u.ipv6}
	for _, f := range []ufwFamily{famV4, famV6} {
		for _, r := range h.lists[f] {
			s.lists[f] = append(s.lists[f], ufwEntry{ufwRule: r})
		}
	}
	// Each declared rule claims the host's rule with its key in each family.
	for _, r := range u.rules {
		key := r.rule().ufwKey
		for _, f := range r.families {
			for i := range s.lists[f] {
				if e := &s.lists[f][i]; e.plan == 0 && e.ufwKey == key {
					e.plan = r.n
					break
				}
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
		s.deleteUndeclared(u.families(), func(ufwEntry) bool { return true })
	} else {
		s.deleteUndeclared(u.families(), func(e ufwEntry) bool { return e.Comment == ufwTempComment })
	}
	for _, r := range u.rules {
		if r.action == "deny" || r.action == "reject" {
			s.place(r)
		}
	}
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
	// plan order, then the rules to delete.
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
	cv.attrs = append(cv.attrs, s.deleted...)
	if h.status.Installed {
		var parts []string
		if added > 0 {
			parts = append(parts, "add "+plural(added, "rule"))
		}
		if changed > 0 {
			parts = append(parts, "change "+plural(changed, "rule"))
		}
		if n := len(s.deleted); n > 0 {
			parts = append(parts, "delete "+plural(n, "rule"))
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

// ufwSim keeps the lists as the commands so far leave them.
type ufwSim struct {
	lists   map[ufwFamily][]ufwEntry
	ipv6    bool
	cmds    [][]string
	deleted []AttrChange
	err     error // the first thing the commands cannot do
}

func (s *ufwSim) cmd(args ...string) { s.cmds = append(s.cmds, args) }

func (s *ufwSim) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
}

func (s *ufwSim) find(f ufwFamily, n int) int {
	for i, e := range s.lists[f] {
		if e.plan == n {
			return i
		}
	}
	return -1
}

// firstAfter is the index of the first rule that the plan declares after
// rule n, -1 if there is none.
func (s *ufwSim) firstAfter(f ufwFamily, n int) int {
	for i, e := range s.lists[f] {
		if e.plan > n {
			return i
		}
	}
	return -1
}

// place makes the host's rule for r match it in every family r wants.
func (s *ufwSim) place(r *ufwPlanRule) {
	want := r.rule()
	var direct []ufwFamily // updated in place or appended: ufw finds the spot
	type insertion struct {
		f ufwFamily
		j int
	}
	var inserts []insertion
	for _, f := range r.families {
		i := s.find(f, r.n)
		switch {
		case i >= 0 && s.lists[f][i].sameSettings(want):
		case i >= 0:
			direct = append(direct, f)
			s.lists[f][i].ufwRule = want
		default:
			if j := s.firstAfter(f, r.n); j >= 0 {
				inserts = append(inserts, insertion{f, j})
			} else {
				direct = append(direct, f)
				s.lists[f] = append(s.lists[f], ufwEntry{want, r.n})
			}
		}
	}
	if len(inserts) == 0 && len(direct) == len(r.families) && !r.famAny {
		s.cmd(addArgs(want, "")...) // one command for every family
	} else {
		for _, f := range direct {
			s.cmd(addArgs(want, f.anyAddr())...)
		}
	}
	for _, in := range inserts {
		l := s.lists[in.f]
		// ufw's frontend refuses positions past the number of rules it
		// counts (application rules once); without IPv6 it counts both
		// lists' rules.
		bound := ufwCount(l)
		if !s.ipv6 {
			bound = min(ufwCount(l)+ufwCount(s.lists[famV6]), len(l))
		}
		p, ok := ufwInsertPosition(l, in.j, bound)
		if !ok {
			var apps []string
			for _, e := range l {
				if name := strings.TrimSpace(e.DApp + " " + e.SApp); name != "" && !contains(apps, name) {
					apps = append(apps, name)
				}
			}
			s.fail("%s, %q, belongs right before the host's %s rule %q, but `ufw insert` cannot put it there: ufw numbers each application rule (%s) as one rule although it keeps a line per protocol for it, and refuses the position that spot needs; delete the application rule on the host first (for example `ufw delete allow %s`)",
				r.where(), r.describe(s.ipv6), in.f, describeRule(l[in.j].ufwRule, []ufwFamily{in.f}, s.ipv6), strings.Join(apps, ", "), apps0(apps))
			return
		}
		// `ufw insert N` counts the IPv4 rules first, then the IPv6 ones.
		pos := p
		if in.f == famV6 {
			pos += ufwCount(s.lists[famV4])
		}
		s.cmd(append([]string{"insert", strconv.Itoa(pos)}, addArgs(want, in.f.anyAddr())...)...)
		s.lists[in.f] = append(l[:in.j:in.j], append([]ufwEntry{{want, r.n}}, l[in.j:]...)...)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func apps0(apps []string) string {
	if len(apps) == 0 {
		return "NAME"
	}
	if strings.Contains(apps[0], " ") {
		return "'" + apps[0] + "'"
	}
	return apps[0]
}

// ufwInsertIndex is where ufw's backend puts a rule inserted at position p
// (1-based; set_rule in backend_iptables.py): before the p-th line of the
// list, or past the rest of the lines of the application rule that line
// belongs to; len(l) when p is past them all (ufw then adds the rule at
// the end).
func ufwInsertIndex(l []ufwEntry, p int) int {
	type group struct{ dst, src, dapp, sapp string }
	var last group
	for i, e := range l {
		cur := group{e.Dst, e.Src, e.DApp, e.SApp}
		if i+1 == p {
			if (last.dapp == "" && last.sapp == "" && i > 0) || (cur.dapp == "" && cur.sapp == "") || last != cur {
				return i
			}
			p++
		}
		last = cur
	}
	return len(l)
}

// ufwInsertPosition is the N of `ufw insert N` that puts a rule before
// l[j], at most bound (the frontend's limit); false when there is none.
func ufwInsertPosition(l []ufwEntry, j, bound int) (int, bool) {
	for p := 1; p <= bound && p <= len(l); p++ {
		if ufwInsertIndex(l, p) == j {
			return p, true
		}
	}
	return 0, false
}

// deleteUndeclared deletes the rules the plan does not declare that del
// selects.
func (s *ufwSim) deleteUndeclared(fams []ufwFamily, del func(ufwEntry) bool) {
	for _, f := range fams {
		for i := 0; i < len(s.lists[f]); {
			e := s.lists[f][i]
			if e.plan != 0 || !del(e) {
				i++
				continue
			}
			// One command deletes a rule for any source from both lists.
			both := false
			if f == famV4 && len(fams) == 2 && e.Src == "any" && e.Dst == "any" {
				for k, o := range s.lists[famV6] {
					if o.plan == 0 && o.ufwRule == e.ufwRule {
						s.lists[famV6] = append(s.lists[famV6][:k:k], s.lists[famV6][k+1:]...)
						both = true
						break
					}
				}
			}
			fs := []ufwFamily{f}
			src := f.anyAddr()
			if both {
				fs, src = fams, ""
			}
			s.cmd(deleteArgs(e.ufwRule, src)...)
			s.deleted = append(s.deleted, AttrChange{Name: "rule", Before: describeRule(e.ufwRule, fs, s.ipv6)})
			s.lists[f] = append(s.lists[f][:i:i], s.lists[f][i+1:]...)
		}
	}
}

// addArgs are the arguments of `ufw` that add (or update) r.
func addArgs(r ufwRule, src string) []string {
	a := ufwArgs(r, src)
	if r.Comment != "" {
		a = append(a, "comment", r.Comment)
	}
	return a
}

// deleteArgs are the arguments of `ufw` that delete r (ufw finds it
// without its comment, but needs its action and log type).
func deleteArgs(r ufwRule, src string) []string {
	a := ufwArgs(r, src)
	if r.Route {
		return append([]string{"route", "delete"}, a[1:]...)
	}
	return append([]string{"delete"}, a...)
}

// ufwCount is the number ufw gives a list's rules (get_rules_count): the
// lines of one application rule count once.
func ufwCount(l []ufwEntry) int {
	seen := map[string]bool{}
	n := 0
	for _, e := range l {
		if t := e.appTuple(); t != "" {
			if seen[t] {
				continue
			}
			seen[t] = true
		}
		n++
	}
	return n
}

// appTuple is what ufw tells an application rule's lines by
// (get_app_tuple in common.py), "" for a rule without a profile.
func (k ufwKey) appTuple() string {
	if k.DApp == "" && k.SApp == "" {
		return ""
	}
	t := k.DApp + " " + k.Dst + " " + k.SApp + " " + k.Src
	if k.DApp == "" {
		t = k.DPort + " " + k.Dst + " " + k.SApp + " " + k.Src
	}
	if k.SApp == "" {
		t = k.DApp + " " + k.Dst + " " + k.SPort + " " + k.Src
	}
	if k.IfaceIn == "" && k.IfaceOut == "" {
		return t + " " + k.Dir
	}
	if k.IfaceIn != "" {
		t += " in_" + k.IfaceIn
	}
	if k.IfaceOut != "" {
		t += " out_" + k.IfaceOut
	}
	return t
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
