package tasks

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

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

// ufwSim keeps the lists as the commands so far leave them.
type ufwSim struct {
	lists map[ufwFamily][]ufwEntry
	fams  []ufwFamily // the lists ufw uses: IPv4, and IPv6 with ipv6 = true
	ipv6  bool
	plan  []*ufwPlanRule
	rules map[int]*ufwPlanRule // by n
	cmds  [][]string
	err   error // the first thing the commands cannot do
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

// add runs `ufw args` (args add want) in each of fams, as one command.
func (s *ufwSim) add(args []string, want ufwRule, plan int, fams ...ufwFamily) {
	s.cmd(args...)
	for _, f := range fams {
		s.lists[f] = ufwBackendAdd(s.lists[f], want, plan)
	}
}

// place makes the host's rule for r match it in every family r wants.
func (s *ufwSim) place(r *ufwPlanRule) {
	want := r.rule()
	var direct, inserts []ufwFamily // direct: updated in place or appended, ufw finds the spot
	for _, f := range r.families {
		i := s.find(f, r.n)
		switch {
		case i >= 0 && s.lists[f][i].ufwRule == want:
		case i < 0 && s.firstAfter(f, r.n) >= 0:
			inserts = append(inserts, f)
		default:
			direct = append(direct, f)
		}
	}
	if len(inserts) == 0 && len(direct) == len(r.families) && !r.famAny {
		s.add(addArgs(want, ""), want, r.n, direct...) // one command for every family
	} else {
		for _, f := range direct {
			s.add(addArgs(want, f.anyAddr()), want, r.n, f)
		}
	}
	for _, f := range inserts {
		s.insert(r, f)
	}
}

// insert runs `ufw insert N` for r in f, before the first rule the plan
// declares after r.
func (s *ufwSim) insert(r *ufwPlanRule, f ufwFamily) {
	want := r.rule()
	l := s.lists[f]
	j := s.firstAfter(f, r.n)
	// ufw's frontend refuses positions past the number of rules it counts
	// (application rules once); without IPv6 it counts both lists' rules.
	bound := ufwCount(l)
	if !s.ipv6 {
		bound = min(ufwCount(l)+ufwCount(s.lists[famV6]), len(l))
	}
	p, ok := ufwInsertPosition(l, j, bound)
	if !ok {
		var apps []string
		for _, e := range l {
			if name := strings.TrimSpace(e.DApp + " " + e.SApp); name != "" && !contains(apps, name) {
				apps = append(apps, name)
			}
		}
		s.fail("%s, %q, belongs right before the host's %s rule %q, but `ufw insert` cannot put it there: ufw numbers each application rule (%s) as one rule although it keeps a line per protocol for it, and refuses the position that spot needs; delete the application rule on the host first (for example `ufw delete allow %s`)",
			r.where(), r.describe(s.ipv6), f, describeRule(l[j].ufwRule, []ufwFamily{f}, s.ipv6), strings.Join(apps, ", "), apps0(apps))
		return
	}
	// `ufw insert N` counts the IPv4 rules first, then the IPv6 ones.
	pos := p
	if f == famV6 {
		pos += ufwCount(s.lists[famV4])
	}
	s.cmd(append([]string{"insert", strconv.Itoa(pos)}, addArgs(want, f.anyAddr())...)...)
	s.lists[f] = ufwBackendInsert(l, p, want, r.n)
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

// deleteUndeclared deletes the rules the plan does not declare that sel
// selects, each with a command that deletes nothing else: a rule's
// comment goes with its `ufw delete` (without one, ufw also deletes the
// rules that differ only by their comment).
//
// The deny and reject rules go first, in both lists, then the allow and
// limit rules: deleting a rule that blocks never blocks a connection, and
// once those are gone, each list on the way is the final one plus rules
// that accept, so a connection the end result lets in (the lockout check
// makes sure of hako's) is let in all along.
//
// Where a declared rule differs from a rule to delete only by its comment
// and no command could spare it, the declared rule, as the host has it,
// is added again first: ufw then turns every rule with its key into a
// copy of it (there is no moment without it), the copies are deleted, and
// the last one stays.
func (s *ufwSim) deleteUndeclared(sel func(ufwEntry) bool) {
	type slot struct {
		f   ufwFamily
		key ufwKey
	}
	merged := map[slot]bool{}
	for _, blocking := range []bool{true, false} {
		pass := func(e ufwEntry) bool { return e.plan == 0 && sel(e) && blocks(e.Action) == blocking }
		for _, f := range s.fams {
			for guard := 0; ; guard++ {
				if guard > 4*len(s.lists[f])+8 {
					s.fail("internal error: deleting the host's ufw rules does not finish")
					return
				}
				var stuck []ufwEntry // the candidates that no command deletes alone
				done := false
				for _, e := range s.lists[f] {
					if !pass(e) {
						continue
					}
					if done = s.deleteOne(f, e, sel); done {
						break
					}
					stuck = append(stuck, e)
				}
				if done {
					continue
				}
				if len(stuck) == 0 {
					break
				}
				// The declared rule with its key would go too.
				e := stuck[0]
				claimed := -1
				for k, o := range s.lists[f] {
					if o.plan != 0 && o.ufwKey == e.ufwKey {
						claimed = k
					}
				}
				if claimed < 0 || merged[slot{f, e.ufwKey}] {
					s.fail("cannot delete the host's rule %q without deleting other rules with it", describeRule(e.ufwRule, []ufwFamily{f}, s.ipv6))
					return
				}
				merged[slot{f, e.ufwKey}] = true
				c := s.lists[f][claimed]
				want := c.ufwRule
				if !ufwCommentOK(want.Comment) {
					want = s.rules[c.plan].rule()
				}
				s.add(addArgs(want, f.anyAddr()), want, c.plan, f)
			}
		}
	}
}

// deleteOne deletes e from f (and its twin from the IPv6 list, in one
// command, when it has one) if ufw's delete spares everything else; it
// reports whether it did.
func (s *ufwSim) deleteOne(f ufwFamily, e ufwEntry, sel func(ufwEntry) bool) bool {
	del := e.ufwRule
	if !ufwCommentOK(del.Comment) || e.appTuple() != "" {
		// ufw cannot take it (the check below sees what goes with it);
		// an application rule's lines go with their own comments.
		del.Comment = ""
	}
	twin := false
	if f == famV4 && len(s.fams) == 2 && e.Src == "any" && e.Dst == "any" && e.appTuple() == "" {
		for _, o := range s.lists[famV6] {
			twin = twin || (o.plan == 0 && o.ufwRule == e.ufwRule && sel(o))
		}
	}
	try := func(src string, fams ...ufwFamily) bool {
		next := map[ufwFamily][]ufwEntry{}
		for _, g := range fams {
			if e.appTuple() != "" {
				next[g] = ufwAppDelete(s.lists[g], del)
			} else {
				next[g] = ufwBackendDelete(s.lists[g], del)
			}
			var ok bool
			if next[g], ok = spare(s.lists[g], next[g], sel); !ok {
				return false
			}
		}
		for _, g := range fams {
			s.lists[g] = next[g]
		}
		args := deleteArgs(e.ufwRule, src)
		if del.Comment != "" {
			args = append(args, "comment", del.Comment)
		}
		s.cmd(args...)
		return true
	}
	return (twin && try("", famV4, famV6)) || try(f.anyAddr(), f)
}

// spare checks what a command took from before to leave after: only
// undeclared rules sel selects, and at least one. A declared rule may go
// when a selected copy of it stays: that copy takes its place (ufw deletes
// the first of identical rules). It returns after with such copies
// claimed.
func spare(before, after []ufwEntry, sel func(ufwEntry) bool) ([]ufwEntry, bool) {
	type id struct{ host, plan int }
	left := map[id]bool{}
	for _, e := range after {
		left[id{e.host, e.plan}] = true
	}
	after = append([]ufwEntry(nil), after...)
	gone := 0
	for _, e := range before {
		if left[id{e.host, e.plan}] {
			continue
		}
		gone++
		if e.plan == 0 {
			if !sel(e) {
				return nil, false
			}
			continue
		}
		copied := false
		for k, o := range after {
			if o.plan == 0 && o.ufwRule == e.ufwRule && sel(o) {
				after[k].plan, after[k].host = e.plan, e.host
				copied = true
				break
			}
		}
		if !copied {
			return nil, false
		}
	}
	return after, gone > 0
}

// verify checks that every declared rule ends up as declared.
func (s *ufwSim) verify() {
	for _, r := range s.plan {
		for _, f := range r.families {
			if i := s.find(f, r.n); i < 0 || s.lists[f][i].ufwRule != r.rule() {
				s.fail("internal error: the ufw commands worked out for %s, %q, do not leave it in the %s rules", r.where(), r.describe(s.ipv6), f)
			}
		}
	}
}

// otherChanges are the attribute lines for the host's rules the plan does
// not declare that the commands delete or change (ufw changes a rule with
// the key of one it adds). A rule in both lists is one line, and so is
// an application rule's group of lines.
func (s *ufwSim) otherChanges(host map[ufwFamily][]ufwEntry) []AttrChange {
	type change struct {
		before, after ufwRule
		gone          bool
		fams          []ufwFamily
	}
	var out []*change
	var v4 []*change
	for _, f := range s.fams {
		now := map[int]ufwEntry{}
		for _, e := range s.lists[f] {
			if e.host > 0 {
				now[e.host] = e
			}
		}
		seenApp := map[string]bool{}
		for _, e := range host[f] {
			if e.plan != 0 {
				continue
			}
			n, ok := now[e.host]
			if ok && n.ufwRule == e.ufwRule {
				continue
			}
			c := &change{before: e.ufwRule, after: n.ufwRule, gone: !ok, fams: []ufwFamily{f}}
			if t := e.appTuple(); t != "" {
				k := fmt.Sprintf("%s %s %s %s %v", t, e.Action, e.Log, e.Comment, c.gone)
				if seenApp[k] {
					continue
				}
				seenApp[k] = true
			}
			paired := false
			if f == famV6 {
				for k, o := range v4 {
					if o != nil && o.before == c.before && o.after == c.after && o.gone == c.gone {
						o.fams, v4[k], paired = append(o.fams, f), nil, true
						break
					}
				}
			}
			if paired {
				continue
			}
			out = append(out, c)
			if f == famV4 {
				v4 = append(v4, c)
			}
		}
	}
	var attrs []AttrChange
	for _, c := range out {
		a := AttrChange{Name: "rule", Before: describeRule(c.before, c.fams, s.ipv6)}
		if !c.gone {
			a.After = describeRule(c.after, c.fams, s.ipv6)
		}
		attrs = append(attrs, a)
	}
	return attrs
}

// ufwCommentOK reports whether ufw's command line takes c as a comment.
func ufwCommentOK(c string) bool {
	return ufwCommentWord(c) == "" && !strings.ContainsFunc(c, func(r rune) bool { return r == '\'' || unicode.IsControl(r) })
}

// What ufw's backend does with a rule command (set_rule in
// backend_iptables.py), on one family's list.

// ufwMatch is UFWRule.match: 1 another key, 0 the same rule, -2 the same
// but for the comment, -1 another action or log type.
func ufwMatchRet(x, y ufwRule) int {
	switch {
	case x.ufwKey != y.ufwKey:
		return 1
	case x.Action != y.Action || x.Log != y.Log:
		return -1
	case x.Comment != y.Comment:
		return -2
	}
	return 0
}

// ufwBackendAdd adds want: every rule with its key becomes want; without
// one, want goes at the end.
func ufwBackendAdd(l []ufwEntry, want ufwRule, plan int) []ufwEntry {
	out := make([]ufwEntry, 0, len(l)+1)
	found := false
	for _, e := range l {
		if ret := ufwMatchRet(e.ufwRule, want); ret < 1 {
			found = true
			e.ufwRule = want
		}
		out = append(out, e)
	}
	if !found {
		out = append(out, ufwEntry{ufwRule: want, plan: plan})
	}
	return out
}

// ufwBackendInsert inserts want at backend position p; ufw skips it when
// a rule with its key exists.
func ufwBackendInsert(l []ufwEntry, p int, want ufwRule, plan int) []ufwEntry {
	i := ufwInsertIndex(l, p)
	if i >= len(l) {
		return ufwBackendAdd(l, want, plan)
	}
	for _, e := range l {
		if ufwMatchRet(e.ufwRule, want) < 1 {
			return l
		}
	}
	out := append(append(append(make([]ufwEntry, 0, len(l)+1), l[:i]...), ufwEntry{ufwRule: want, plan: plan}), l[i:]...)
	return out
}

// ufwBackendDelete deletes the first rule that is del, and, when del has
// no comment, every rule that differs from it only by its comment.
func ufwBackendDelete(l []ufwEntry, del ufwRule) []ufwEntry {
	var out []ufwEntry
	found := false
	for _, e := range l {
		switch ret := ufwMatchRet(e.ufwRule, del); {
		case ret == 0 && !found:
			found = true
		case ret == -2 && del.Comment == "":
			found = true
		default:
			out = append(out, e)
		}
	}
	return out
}

// ufwAppDelete deletes an application rule: all its lines (the frontend
// deletes each line ufw has for the profile, each with its own comment).
func ufwAppDelete(l []ufwEntry, del ufwRule) []ufwEntry {
	var out []ufwEntry
	for _, e := range l {
		if e.appTuple() != del.appTuple() || e.Action != del.Action || e.Log != del.Log {
			out = append(out, e)
		}
	}
	return out
}

// ufwInsertIndex is where ufw's backend puts a rule inserted at position p
// (1-based): before the p-th line of the list, or past the rest of the
// lines of the application rule that line belongs to; len(l) when p is
// past them all (ufw then adds the rule at the end).
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

// addArgs are the arguments of `ufw` that add (or update) r.
func addArgs(r ufwRule, src string) []string {
	a := ufwArgs(r, src)
	if r.Comment != "" {
		a = append(a, "comment", r.Comment)
	}
	return a
}

// deleteArgs are the arguments of `ufw` that delete r, without its comment
// (deleteOne adds it: without one, ufw also deletes every rule that
// differs from r only by its comment).
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
