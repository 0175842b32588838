package ufw

import (
	"strings"
	"unicode"
)

// What ufw 0.36 itself does with a rule command: its matching, adding,
// inserting and deleting (frontend.py, backend_iptables.py), and the
// command lines hako gives it.

// commentOK reports whether ufw's command line takes c as a comment.
func commentOK(c string) bool {
	return CommentWord(c) == "" && !strings.ContainsFunc(c, func(r rune) bool { return r == '\'' || unicode.IsControl(r) })
}

// What ufw's backend does with a rule command (set_rule in
// backend_iptables.py), on one family's list.

// matchRet is what ufw's UFWRule.match returns for two rules: 1 when
// their keys differ, 0 for the same rule, -1 when the action or log type
// differs (the comment may too), -2 when only the comment differs.
func matchRet(x, y Rule) int {
	switch {
	case x.Key != y.Key:
		return 1
	case x.Action != y.Action || x.Log != y.Log:
		return -1
	case x.Comment != y.Comment:
		return -2
	}
	return 0
}

// backendAdd adds want: every rule with its key becomes want; without
// one, want goes at the end.
func backendAdd(l []Entry, want Rule, plan int) []Entry {
	out := make([]Entry, 0, len(l)+1)
	found := false
	for _, e := range l {
		if ret := matchRet(e.Rule, want); ret < 1 {
			found = true
			e.Rule = want
		}
		out = append(out, e)
	}
	if !found {
		out = append(out, Entry{Rule: want, plan: plan})
	}
	return out
}

// backendInsert inserts want at backend position p; ufw skips it when
// a rule with its key exists.
func backendInsert(l []Entry, p int, want Rule, plan int) []Entry {
	i := insertIndex(l, p)
	if i >= len(l) {
		return backendAdd(l, want, plan)
	}
	for _, e := range l {
		if matchRet(e.Rule, want) < 1 {
			return l
		}
	}
	out := append(append(append(make([]Entry, 0, len(l)+1), l[:i]...), Entry{Rule: want, plan: plan}), l[i:]...)
	return out
}

// backendDelete deletes the first rule that is del, and, when del has
// no comment, every rule that differs from it only by its comment.
func backendDelete(l []Entry, del Rule) []Entry {
	var out []Entry
	found := false
	for _, e := range l {
		switch ret := matchRet(e.Rule, del); {
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

// appDelete deletes an application rule: all its lines (the frontend
// deletes each line ufw has for the profile, each with its own comment).
func appDelete(l []Entry, del Rule) []Entry {
	var out []Entry
	for _, e := range l {
		if e.appTuple() != del.appTuple() || e.Action != del.Action || e.Log != del.Log {
			out = append(out, e)
		}
	}
	return out
}

// insertIndex is where ufw's backend puts a rule inserted at position p
// (1-based): before the p-th line of the list, or past the rest of the
// lines of the application rule that line belongs to; len(l) when p is
// past them all (ufw then adds the rule at the end).
func insertIndex(l []Entry, p int) int {
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

// insertPosition is the N of `ufw insert N` that puts a rule before
// l[j], at most bound (the frontend's limit); false when there is none.
func insertPosition(l []Entry, j, bound int) (int, bool) {
	for p := 1; p <= bound && p <= len(l); p++ {
		if insertIndex(l, p) == j {
			return p, true
		}
	}
	return 0, false
}

// addArgs are the arguments of `ufw` that add (or update) r.
func addArgs(r Rule, src string) []string {
	a := ruleArgs(r, src)
	if r.Comment != "" {
		a = append(a, "comment", r.Comment)
	}
	return a
}

// deleteArgs are the arguments of `ufw` that delete r, without its comment
// (deleteOne adds it: without one, ufw also deletes every rule that
// differs from r only by its comment).
func deleteArgs(r Rule, src string) []string {
	a := ruleArgs(r, src)
	if r.Route {
		return append([]string{"route", "delete"}, a[1:]...)
	}
	return append([]string{"delete"}, a...)
}

// count is the number ufw gives a list's rules (get_rules_count): the
// lines of one application rule count once.
func count(l []Entry) int {
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
func (k Key) appTuple() string {
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
