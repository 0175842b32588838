package ufw

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// sim plays the commands of a ufw change on the host's rule lists as
// ufw would (backend.go), so that hako knows the end state, and
// every state on the way, before it runs anything.

// sim keeps the lists as the commands so far leave them.
type sim struct {
	lists map[Family][]Entry
	fams  []Family // the lists ufw uses: IPv4, and IPv6 with ipv6 = true
	ipv6  bool
	plan  []*PlanRule
	rules map[int]*PlanRule // by N
	cmds  [][]string
	err   error // the first thing the commands cannot do
}

func (s *sim) cmd(args ...string) { s.cmds = append(s.cmds, args) }

func (s *sim) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
}

func (s *sim) find(f Family, n int) int {
	for i, e := range s.lists[f] {
		if e.plan == n {
			return i
		}
	}
	return -1
}

// firstAfter is the index of the first rule that the plan declares after
// rule n, -1 if there is none.
func (s *sim) firstAfter(f Family, n int) int {
	for i, e := range s.lists[f] {
		if e.plan > n {
			return i
		}
	}
	return -1
}

// add runs `ufw args` (args add want) in each of fams, as one command.
func (s *sim) add(args []string, want Rule, plan int, fams ...Family) {
	s.cmd(args...)
	for _, f := range fams {
		s.lists[f] = backendAdd(s.lists[f], want, plan)
	}
}

// place makes the host's rule for r match it in every family r wants.
func (s *sim) place(r *PlanRule) {
	want := r.Rule()
	var direct, inserts []Family // direct: updated in place or appended, ufw finds the spot
	for _, f := range r.Families {
		i := s.find(f, r.N)
		switch {
		case i >= 0 && s.lists[f][i].Rule == want:
		case i < 0 && s.firstAfter(f, r.N) >= 0:
			inserts = append(inserts, f)
		default:
			direct = append(direct, f)
		}
	}
	if len(inserts) == 0 && len(direct) == len(r.Families) && !r.FamAny {
		s.add(addArgs(want, ""), want, r.N, direct...) // one command for every family
	} else {
		for _, f := range direct {
			s.add(addArgs(want, f.anyAddr()), want, r.N, f)
		}
	}
	for _, f := range inserts {
		s.insert(r, f)
	}
}

// insert runs `ufw insert N` for r in f, before the first rule the plan
// declares after r.
func (s *sim) insert(r *PlanRule, f Family) {
	want := r.Rule()
	l := s.lists[f]
	j := s.firstAfter(f, r.N)
	// ufw's frontend refuses positions past the number of rules it counts
	// (application rules once); without IPv6 it counts both lists' rules.
	bound := count(l)
	if !s.ipv6 {
		bound = min(count(l)+count(s.lists[V6]), len(l))
	}
	p, ok := insertPosition(l, j, bound)
	if !ok {
		var apps []string
		for _, e := range l {
			if name := strings.TrimSpace(e.DApp + " " + e.SApp); name != "" && !slices.Contains(apps, name) {
				apps = append(apps, name)
			}
		}
		s.fail("%s, %q, belongs right before the host's %s rule %q, a spot `ufw insert` cannot reach past application rules (%s): delete them on the host first (`ufw delete allow %s`)",
			r.where(), r.Describe(s.ipv6), f, describeRule(l[j].Rule, []Family{f}, s.ipv6), strings.Join(apps, ", "), apps0(apps))
		return
	}
	// `ufw insert N` counts the IPv4 rules first, then the IPv6 ones.
	pos := p
	if f == V6 {
		pos += count(s.lists[V4])
	}
	s.cmd(append([]string{"insert", strconv.Itoa(pos)}, addArgs(want, f.anyAddr())...)...)
	s.lists[f] = backendInsert(l, p, want, r.N)
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
func (s *sim) deleteUndeclared(sel func(Entry) bool) {
	type slot struct {
		f   Family
		key Key
	}
	merged := map[slot]bool{}
	for _, blocking := range []bool{true, false} {
		pass := func(e Entry) bool { return e.plan == 0 && sel(e) && blocks(e.Action) == blocking }
		for _, f := range s.fams {
			for guard := 0; ; guard++ {
				if guard > 4*len(s.lists[f])+8 {
					s.fail("internal error: deleting the host's ufw rules does not finish")
					return
				}
				var stuck []Entry // the candidates that no command deletes alone
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
					if o.plan != 0 && o.Key == e.Key {
						claimed = k
					}
				}
				if claimed < 0 || merged[slot{f, e.Key}] {
					s.fail("cannot delete the host's rule %q without deleting other rules with it", describeRule(e.Rule, []Family{f}, s.ipv6))
					return
				}
				merged[slot{f, e.Key}] = true
				c := s.lists[f][claimed]
				want := c.Rule
				if !commentOK(want.Comment) {
					want = s.rules[c.plan].Rule()
				}
				s.add(addArgs(want, f.anyAddr()), want, c.plan, f)
			}
		}
	}
}

// deleteOne deletes e from f (and its twin from the IPv6 list, in one
// command, when it has one) if ufw's delete spares everything else; it
// reports whether it did.
func (s *sim) deleteOne(f Family, e Entry, sel func(Entry) bool) bool {
	del := e.Rule
	if !commentOK(del.Comment) || e.appTuple() != "" {
		// ufw cannot take it (the check below sees what goes with it);
		// an application rule's lines go with their own comments.
		del.Comment = ""
	}
	twin := false
	if f == V4 && len(s.fams) == 2 && e.Src == "any" && e.Dst == "any" && e.appTuple() == "" {
		for _, o := range s.lists[V6] {
			twin = twin || (o.plan == 0 && o.Rule == e.Rule && sel(o))
		}
	}
	try := func(src string, fams ...Family) bool {
		next := map[Family][]Entry{}
		for _, g := range fams {
			if e.appTuple() != "" {
				next[g] = appDelete(s.lists[g], del)
			} else {
				next[g] = backendDelete(s.lists[g], del)
			}
			var ok bool
			if next[g], ok = spare(s.lists[g], next[g], sel); !ok {
				return false
			}
		}
		for _, g := range fams {
			s.lists[g] = next[g]
		}
		args := deleteArgs(e.Rule, src)
		if del.Comment != "" {
			args = append(args, "comment", del.Comment)
		}
		s.cmd(args...)
		return true
	}
	return (twin && try("", V4, V6)) || try(f.anyAddr(), f)
}

// spare checks what a command took from before to leave after: only
// undeclared rules sel selects, and at least one. A declared rule may go
// when a selected copy of it stays: that copy takes its place (ufw deletes
// the first of identical rules). It returns after with such copies
// claimed.
func spare(before, after []Entry, sel func(Entry) bool) ([]Entry, bool) {
	type id struct{ host, plan int }
	left := map[id]bool{}
	for _, e := range after {
		left[id{e.host, e.plan}] = true
	}
	after = append([]Entry(nil), after...)
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
			if o.plan == 0 && o.Rule == e.Rule && sel(o) {
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
func (s *sim) verify() {
	for _, r := range s.plan {
		for _, f := range r.Families {
			if i := s.find(f, r.N); i < 0 || s.lists[f][i].Rule != r.Rule() {
				s.fail("internal error: the ufw commands worked out for %s, %q, do not leave it in the %s rules", r.where(), r.Describe(s.ipv6), f)
			}
		}
	}
}

// otherChanges are the attribute lines for the host's rules the plan does
// not declare that the commands delete or change (ufw changes a rule with
// the key of one it adds). A rule in both lists is one line, and so is
// an application rule's group of lines.
func (s *sim) otherChanges(host map[Family][]Entry) []Change {
	type change struct {
		before, after Rule
		gone          bool
		fams          []Family
	}
	var out []*change
	var v4 []*change
	for _, f := range s.fams {
		now := map[int]Entry{}
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
			if ok && n.Rule == e.Rule {
				continue
			}
			c := &change{before: e.Rule, after: n.Rule, gone: !ok, fams: []Family{f}}
			if t := e.appTuple(); t != "" {
				k := fmt.Sprintf("%s %s %s %s %v", t, e.Action, e.Log, e.Comment, c.gone)
				if seenApp[k] {
					continue
				}
				seenApp[k] = true
			}
			paired := false
			if f == V6 {
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
			if f == V4 {
				v4 = append(v4, c)
			}
		}
	}
	var attrs []Change
	for _, c := range out {
		a := Change{Name: "rule", Before: describeRule(c.before, c.fams, s.ipv6)}
		if !c.gone {
			a.After = describeRule(c.after, c.fams, s.ipv6)
		}
		attrs = append(attrs, a)
	}
	return attrs
}
