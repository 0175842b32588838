package tasks

import (
	"strings"
	"unicode"
)

// What ufw 0.36 itself does with a rule command: its matching, adding,
// inserting and deleting (frontend.py, backend_iptables.py), and the
// command lines hako gives it.

// ufwCommentOK reports whether ufw's command line takes c as a comment.
func ufwCommentOK(c string) bool {
	return ufwCommentWord(c) == "" && !strings.ContainsFunc(c, func(r rune) bool { return r == '\'' || unicode.IsControl(r) })
}

// What ufw's backend does with a rule command (set_rule in
// backend_iptables.py), on one family's list.

// ufwMatchRet is what ufw's UFWRule.match returns for two rules: 1 when
// their keys differ, 0 for the same rule, -1 when the action or log type
// differs (the comment may too), -2 when only the comment differs.
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
