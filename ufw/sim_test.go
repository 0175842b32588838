package ufw

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// A reference model of ufw 0.36.2, ported on its own from frontend.py
// (set_rule, the position checks) and backend_iptables.py (set_rule,
// get_app_rules_from_system), to replay the command lines hako plans and
// compare the firewall they leave with the one hako expects.

type refUFW struct {
	lists map[Family][]Rule
	ipv6  bool // use_ipv6(): IPV6=yes and a kernel with IPv6
}

// refMatch is UFWRule.match.
func refMatch(x, y Rule) int {
	if x.DPort != y.DPort || x.SPort != y.SPort || x.Proto != y.Proto || x.Src != y.Src || x.Dst != y.Dst ||
		x.DApp != y.DApp || x.SApp != y.SApp || x.IfaceIn != y.IfaceIn || x.IfaceOut != y.IfaceOut ||
		x.Dir != y.Dir || x.Route != y.Route {
		return 1
	}
	if x.Action == y.Action && x.Log == y.Log && x.Comment == y.Comment {
		return 0
	}
	if x.Action == y.Action && x.Log == y.Log {
		return -2
	}
	return -1
}

func refCount(l []Rule) int {
	n, seen := 0, map[string]bool{}
	for _, r := range l {
		if r.DApp != "" || r.SApp != "" {
			t := r.appTuple()
			if seen[t] {
				continue
			}
			seen[t] = true
		}
		n++
	}
	return n
}

// backendSetRule is backend_iptables.py set_rule on one list.
func (u *refUFW) backendSetRule(f Family, rule Rule, position int, remove bool) error {
	rules := u.lists[f]
	if position < 0 || position > len(rules) {
		return fmt.Errorf("ERROR: Invalid position '%d'", position)
	}
	var newrules []Rule
	found, modified, inserted := false, false, false
	matches := 0
	type tuple struct{ dst, src, dapp, sapp string }
	var last tuple
	count := 1
	for _, r := range rules {
		current := tuple{r.Dst, r.Src, r.DApp, r.SApp}
		if count == position {
			if (last.dapp == "" && last.sapp == "" && count > 1) || (current.dapp == "" && current.sapp == "") || last != current {
				inserted = true
				newrules = append(newrules, rule)
				last = tuple{}
			} else {
				position++
			}
		}
		last = current
		count++
		ret := refMatch(r, rule)
		if ret < 1 {
			matches++
		}
		switch {
		case ret == 0 && !found && !inserted:
			found = true
			if !remove {
				newrules = append(newrules, rule)
			}
		case ret == -2 && remove && rule.Comment == "":
			found = true
		case ret < 0 && !remove && !inserted:
			found, modified = true, true
			newrules = append(newrules, rule)
		default:
			newrules = append(newrules, r)
		}
	}
	if inserted {
		if matches > 0 {
			return nil // Skipping inserting existing rule
		}
	} else {
		if !found && !remove {
			newrules = append(newrules, rule)
		}
		if !found && remove {
			return nil // Could not delete non-existent rule
		} else if found && !remove && !modified {
			return nil // Skipping adding existing rule
		}
	}
	u.lists[f] = newrules
	return nil
}

// setRule is frontend.py set_rule for ip_version "v4", "v6" or "both".
func (u *refUFW) setRule(rule Rule, ipVersion string, position int, remove bool) error {
	rules := []Rule{rule}
	if rule.DApp != "" || rule.SApp != "" {
		if !remove || ipVersion == "both" {
			return fmt.Errorf("the reference model does not replay this application rule command")
		}
		f := V4
		if ipVersion == "v6" {
			f = V6
		}
		rules = nil
		for _, r := range u.lists[f] {
			if r.appTuple() == rule.appTuple() {
				r.Action, r.Log = rule.Action, rule.Log
				rules = append(rules, r)
			}
		}
	}
	numV4, numV6 := refCount(u.lists[V4]), refCount(u.lists[V6])
	for _, r := range rules {
		pos := position
		if pos > numV4+numV6 {
			return fmt.Errorf("ERROR: Invalid position '%d'", pos)
		}
		if !u.ipv6 {
			if ipVersion == "v6" {
				return fmt.Errorf("ERROR: IPv6 support not enabled")
			}
			if err := u.backendSetRule(V4, r, pos, remove); err != nil {
				return err
			}
			continue
		}
		switch ipVersion {
		case "v4":
			if pos > numV4 {
				return fmt.Errorf("ERROR: Invalid position '%d'", pos)
			}
			if err := u.backendSetRule(V4, r, pos, remove); err != nil {
				return err
			}
		case "v6":
			if pos > numV4 {
				pos -= numV4
			} else if pos != 0 && pos <= numV4 {
				return fmt.Errorf("ERROR: Invalid position '%d'", pos)
			}
			if err := u.backendSetRule(V6, r, pos, remove); err != nil {
				return err
			}
		case "both":
			if pos != 0 {
				return fmt.Errorf("the reference model does not replay insert for both families")
			}
			if err := u.backendSetRule(V4, r, 0, remove); err != nil {
				return err
			}
			if err := u.backendSetRule(V6, r, 0, remove); err != nil {
				return err
			}
		}
	}
	return nil
}

// run replays one command line; known are the rules it can be about (the
// host's and the plan's), found again by rendering them as hako does and
// matched on the arguments alone.
func (u *refUFW) run(args []string, known []Rule) error {
	switch args[0] {
	case "reload", "default", "--force", "disable":
		return nil
	}
	position, remove := 0, false
	if args[0] == "insert" {
		n, err := strconv.Atoi(args[1])
		if err != nil || n <= 0 {
			return fmt.Errorf("ERROR: Cannot insert rule at position '%s'", args[1])
		}
		position, args = n, args[2:]
	}
	switch {
	case args[0] == "delete":
		remove, args = true, args[1:]
	case len(args) > 1 && args[0] == "route" && args[1] == "delete":
		remove, args = true, append([]string{"route"}, args[2:]...)
	}
	comment := ""
	for i, a := range args {
		if a == "comment" && i+1 < len(args) {
			comment = args[i+1]
			args = append(append([]string(nil), args[:i]...), args[i+2:]...)
			break
		}
	}
	for _, a := range args {
		switch a {
		case "log", "log-all":
			if args[1] != a && !(len(args) > 3 && args[2] == "on" && args[3] == a) {
				return fmt.Errorf("ERROR: Option '%s' not allowed here", a)
			}
		}
	}
	for _, k := range known {
		for _, src := range []string{"", "0.0.0.0/0", "::/0"} {
			if !reflect.DeepEqual(ruleArgs(k, src), args) {
				continue
			}
			version := "both"
			famOf := func(a string) string {
				if strings.Contains(a, ":") {
					return "v6"
				}
				return "v4"
			}
			switch {
			case src != "":
				version = famOf(src)
			case k.Src != "any":
				version = famOf(k.Src)
			case k.Dst != "any":
				version = famOf(k.Dst)
			}
			k.Comment = comment
			return u.setRule(k, version, position, remove)
		}
	}
	return fmt.Errorf("the reference model does not know the rule of `ufw %s`", strings.Join(args, " "))
}

// replayUFW replays cv's commands on hf's rules and returns the lists
// after each command (states[0] is the host's).
func replayUFW(t *testing.T, hf ufwHostFiles, g *Goal, cv *Convergence) []map[Family][]Rule {
	t.Helper()
	ref := &refUFW{lists: map[Family][]Rule{}, ipv6: g.IPv6}
	var known []Rule
	for f, path := range map[Family]string{V4: RulesPath, V6: Rules6Path} {
		l, err := ParseUserRules([]byte(hf.files[path]))
		if err != nil {
			t.Fatal(err)
		}
		ref.lists[f] = l
		known = append(known, l...)
	}
	for _, r := range g.Rules {
		known = append(known, r.Rule())
	}
	snapshot := func() map[Family][]Rule {
		return map[Family][]Rule{V4: append([]Rule(nil), ref.lists[V4]...), V6: append([]Rule(nil), ref.lists[V6]...)}
	}
	states := []map[Family][]Rule{snapshot()}
	for _, cmd := range append(append([][]string(nil), cv.Before...), cv.Cmds...) {
		if err := ref.run(cmd, known); err != nil {
			t.Fatalf("ufw %s: %v", strings.Join(cmd, " "), err)
		}
		states = append(states, snapshot())
	}
	return states
}

// checkReplay checks that the commands leave the firewall hako expects.
func checkReplay(t *testing.T, hf ufwHostFiles, g *Goal, cv *Convergence) []map[Family][]Rule {
	t.Helper()
	states := replayUFW(t, hf, g, cv)
	for _, f := range []Family{V4, V6} {
		var want []string
		for _, e := range cv.Final[f] {
			want = append(want, ruleCommand(e.Rule, f.anyAddr()))
		}
		var got []string
		for _, r := range states[len(states)-1][f] {
			got = append(got, ruleCommand(r, f.anyAddr()))
		}
		sameLines(t, fmt.Sprintf("%s rules as ufw leaves them (commands %q)", f, cmdLines(cv)), got, want)
	}
	return states
}

// sshOpen reports whether a list lets a new tcp connection to port from
// client in, first match, else the default.
func sshOpen(l []Rule, client string, port int, incoming string) bool {
	a := netip.MustParseAddr(client)
	for _, r := range l {
		if m, _ := (Entry{Rule: r}).matchSSH(a, port); m == matchYes {
			return !blocks(r.Action)
		}
	}
	return incoming == "allow"
}

func userRules(tuples ...string) string {
	var b strings.Builder
	for _, tu := range tuples {
		b.WriteString("### tuple ### " + tu + "\n")
	}
	return b.String()
}

// hostWith is an active host with these rules in both lists (written for
// IPv4; "0.0.0.0/0" becomes "::/0" for IPv6, and a rule for 10.213.0.0/24
// is for fd42:213::/64 there).
func hostWith(t *testing.T, tuples ...string) ufwHostFiles {
	hf := loadScenario(t, "active-seed")
	var v6 []string
	for _, tu := range tuples {
		v6 = append(v6, strings.NewReplacer("0.0.0.0/0", "::/0", "10.213.0.0/24", "fd42:213::/64").Replace(tu))
	}
	hf.files[RulesPath], hf.files[Rules6Path] = userRules(tuples...), userRules(v6...)
	return hf
}

// hako's address in these tests: SSH must stay open from there.
const sshFrom = "10.213.0.1"

// A rule that differs from the declared one only by
// its comment. `ufw delete allow 22/tcp` would delete the declared rule
// too; hako deletes the other one by its comment, and the declared rule
// stays where it is.
func TestUFWDeleteDuplicateSparesDeclared(t *testing.T) {
	hf := hostWith(t, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in", "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6f6c64")
	g := goal(t, true, spec{port: "22", proto: "tcp"})
	cv := converge(t, g, hf, sshFrom)
	sameLines(t, "commands", cmdLines(cv), []string{"delete allow 22/tcp comment old"})
	sameLines(t, "attrs", attrLines(cv), []string{`rule: "allow 22/tcp from any (old)" → ""`})
	states := checkReplay(t, hf, g, cv)
	for _, f := range []Family{V4, V6} {
		if got := states[len(states)-1][f]; len(got) != 1 || got[0].Comment != "" {
			t.Errorf("%s after: %v", f, got)
		}
	}

	// The other way round: the declared rule has the comment. A delete
	// without one would take both; the declared rule is added again
	// first, which makes the other one a copy of it, and a copy goes.
	g = goal(t, true, spec{port: "22", proto: "tcp", comment: "old"})
	cv = converge(t, g, hf, sshFrom)
	sameLines(t, "commands", cmdLines(cv), []string{
		"allow from 0.0.0.0/0 to any port 22 proto tcp comment old",
		"delete allow from 0.0.0.0/0 to any port 22 proto tcp comment old",
		"allow from ::/0 to any port 22 proto tcp comment old",
		"delete allow from ::/0 to any port 22 proto tcp comment old",
	})
	sameLines(t, "attrs", attrLines(cv), []string{`rule: "allow 22/tcp from any" → ""`})
	states = checkReplay(t, hf, g, cv)
	for i, st := range states {
		if !sshOpen(st[V4], "10.213.0.1", 22, "deny") {
			t.Errorf("SSH blocked after command %d of %q", i, cmdLines(cv))
		}
	}
}

// Identical copies: ufw deletes the first, so the declared rule ends up
// where the copy was, and the lockout check sees that (here: behind a
// deny for hako's network, which would cut SSH).
func TestUFWDeleteCopyLockoutSeesFinalOrder(t *testing.T) {
	allow := "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"
	deny := "deny tcp 22 0.0.0.0/0 any 10.213.0.0/24 in"
	hf := loadScenario(t, "active-seed")
	hf.files[RulesPath] = userRules(allow, deny, allow)
	hf.files[Rules6Path] = userRules(strings.ReplaceAll(allow, "0.0.0.0/0", "::/0"))
	g := goal(t, true, spec{port: "22", proto: "tcp"}, spec{port: "22", proto: "tcp", from: "10.213.0.0/24", action: "deny"})
	cv := converge(t, g, hf, "")
	if why := cv.Lockout(netip.MustParseAddr(sshFrom), 22); !strings.Contains(why, `its rule 2, "deny 22/tcp from 10.213.0.0/24", is the first rule that matches the SSH connection`) {
		t.Errorf("want the lockout, got %q", why)
	}
	// From elsewhere the same change is fine, and really leaves the deny first.
	cv = converge(t, g, hf, "192.168.0.9")
	sameLines(t, "commands", cmdLines(cv), []string{"delete allow from 0.0.0.0/0 to any port 22 proto tcp"})
	states := checkReplay(t, hf, g, cv)
	if l := states[len(states)-1][V4]; len(l) != 2 || l[0].Action != "deny" {
		t.Errorf("IPv4 after: %v", l)
	}
}

// Every mix of up to three rules for tcp port 22 (and one other) on the
// host, for several plans, exclusive or not: what ufw really does with
// hako's commands is what hako expects, the declared rules end up as
// declared, exclusive leaves nothing else, SSH stays open at every step
// when it was open before and after, and a second run has nothing to do.
func TestUFWDuplicatesAgainstUFWModel(t *testing.T) {
	variants := []string{
		"allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in",
		"allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6f6c64",
		"allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737368",
		"deny tcp 22 0.0.0.0/0 any 0.0.0.0/0 in",
		"limit tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737368",
		"deny any 22 0.0.0.0/0 any 10.213.0.0/24 in",
		"allow any 80 0.0.0.0/0 any 0.0.0.0/0 in",
	}
	plans := [][]spec{
		{{port: "22", proto: "tcp"}},
		{{port: "22", proto: "tcp", comment: "ssh"}},
		{{port: "22", proto: "tcp", action: "limit", comment: "ssh"}},
		{{port: "22", proto: "tcp", comment: "old"}, {port: "80", action: "deny"}},
		{{port: "8081", proto: "tcp", action: "deny"}, {port: "22", proto: "tcp"}, {port: "80"}},
	}
	var hostLists [][]string
	var build func(prefix []string)
	build = func(prefix []string) {
		hostLists = append(hostLists, prefix)
		if len(prefix) == 3 {
			return
		}
		for _, v := range variants {
			build(append(append([]string(nil), prefix...), v))
		}
	}
	build(nil)
	runs := 0
	for i, plan := range plans {
		for _, exclusive := range []bool{true, false} {
			g := goal(t, exclusive, plan...)
			t.Run(fmt.Sprintf("plan%d/exclusive=%v", i, exclusive), func(t *testing.T) {
				for _, tuples := range hostLists {
					hf := hostWith(t, tuples...)
					cv, err := Converge(hf.host(t), g)
					if err != nil {
						t.Fatalf("plan %v, host %q: %v", plan, tuples, err)
					}
					runs++
					states := checkReplay(t, hf, g, cv)
					final := states[len(states)-1]
					if sshOpen(states[0][V4], "10.213.0.1", 22, "deny") && sshOpen(final[V4], "10.213.0.1", 22, "deny") {
						for i, st := range states {
							if !sshOpen(st[V4], "10.213.0.1", 22, "deny") {
								t.Errorf("SSH blocked after command %d", i)
							}
						}
					}
					for _, r := range g.Rules {
						for _, f := range r.Families {
							n := 0
							for _, x := range final[f] {
								if x == r.Rule() {
									n++
								}
							}
							if n == 0 {
								t.Errorf("%s not in the %s rules: %v", r.Describe(true), f, final[f])
							}
						}
					}
					if exclusive {
						for _, f := range []Family{V4, V6} {
							if len(final[f]) != len(g.Rules) {
								t.Errorf("%s rules left: %v", f, final[f])
							}
						}
					}
					if again := converge(t, g, hostAfter(hf, cv), ""); len(again.Changes) > 0 {
						t.Errorf("second run: %v %q", attrLines(again), cmdLines(again))
					}
					if t.Failed() {
						t.Fatalf("plan %v, host %q: commands %q", plan, tuples, cmdLines(cv))
					}
				}
			})
		}
	}
	if runs < 3000 {
		t.Errorf("only %d runs", runs)
	}
}

// A non-exclusive plan that changes a declared rule: ufw changes every
// rule with its key, the host's other copies too, and the plan says so.
func TestUFWChangeReachesCopies(t *testing.T) {
	hf := hostWith(t, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in", "deny tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6f6c64")
	g := goal(t, false, spec{port: "22", proto: "tcp", action: "limit"})
	cv := converge(t, g, hf, sshFrom)
	sameLines(t, "commands", cmdLines(cv), []string{"limit 22/tcp"})
	sameLines(t, "attrs", attrLines(cv), []string{
		`rule: "allow 22/tcp from any" → "limit 22/tcp from any"`,
		`rule: "deny 22/tcp from any (old)" → "limit 22/tcp from any"`,
	})
	if cv.Summary() != "change 2 rules" {
		t.Errorf("summary %q", cv.Summary())
	}
	checkReplay(t, hf, g, cv)
}

// The captured host with every kind of rule hako does not declare
// (interface, out, log, route, application profile, destination, source
// port): an exclusive plan deletes them all with commands ufw takes.
func TestUFWExclusiveOnMixedHost(t *testing.T) {
	hf := loadScenario(t, "active-mixed")
	g := goal(t, true, seedRules...)
	g.Outgoing = "reject"
	cv := converge(t, g, hf, sshFrom)
	states := checkReplay(t, hf, g, cv)
	final := states[len(states)-1]
	if len(final[V4]) != 4 || len(final[V6]) != 3 {
		t.Errorf("left: %v", final)
	}
	if again := converge(t, g, hostAfter(hf, cv), ""); len(again.Changes) > 0 {
		t.Errorf("second run: %v %q", attrLines(again), cmdLines(again))
	}
}

// ufw counts an application rule with lines for two
// protocols (CIFS, which ships with ufw) once in `ufw insert N`.
func TestUFWInsertAfterAppProfile(t *testing.T) {
	hf := hostWith(t, "allow udp 137,138 0.0.0.0/0 any 0.0.0.0/0 CIFS - in", "allow tcp 139,445 0.0.0.0/0 any 0.0.0.0/0 CIFS - in",
		"allow any 22 0.0.0.0/0 any 0.0.0.0/0 in")
	g := goal(t, false, spec{port: "8081", proto: "tcp", action: "deny"}, spec{port: "22"})
	cv := converge(t, g, hf, sshFrom)
	sameLines(t, "commands", cmdLines(cv), []string{
		"insert 2 deny from 0.0.0.0/0 to any port 8081 proto tcp", // ufw moves past CIFS's second line
		"insert 5 deny from ::/0 to any port 8081 proto tcp",      // 3 IPv4 rules as ufw counts them, then 2
	})
	states := checkReplay(t, hf, g, cv)
	for _, f := range []Family{V4, V6} {
		if l := states[len(states)-1][f]; len(l) != 4 || l[2].DPort != "8081" {
			t.Errorf("%s after: %v", f, l)
		}
	}

	// A spot `ufw insert` cannot reach: before the last rule, with CIFS
	// earlier in the list. Converge says so instead of failing halfway.
	hf = hostWith(t, "allow udp 137,138 0.0.0.0/0 any 0.0.0.0/0 CIFS - in", "allow tcp 139,445 0.0.0.0/0 any 0.0.0.0/0 CIFS - in",
		"allow any 80 0.0.0.0/0 any 0.0.0.0/0 in", "allow any 22 0.0.0.0/0 any 0.0.0.0/0 in")
	g = goal(t, false, spec{port: "80"}, spec{port: "8081", proto: "tcp", action: "deny"}, spec{port: "22"})
	g.Rules[1].Where = "rule 2 (plan.hcl:3)"
	_, err := Converge(hf.host(t), g)
	if err == nil || !strings.Contains(err.Error(), `rule 2 (plan.hcl:3), "deny 8081/tcp from any", belongs right before the host's IPv4 rule "allow 22 from 0.0.0.0/0", a spot `+"`ufw insert`"+` cannot reach past application rules (CIFS)`) ||
		!strings.Contains(err.Error(), "`ufw delete allow CIFS`") {
		t.Errorf("unreachable spot: %v", err)
	}
	// Exclusive deletes CIFS before it places deny rules: then it works.
	g.Exclusive = true
	cv = converge(t, g, hf, sshFrom)
	checkReplay(t, hf, g, cv)
}

// ufw's insert positions, line by line: an application rule's later lines
// are skipped, and the frontend's bound counts it once.
func TestUFWInsertPosition(t *testing.T) {
	e := func(app string) Entry {
		return Entry{Rule: Rule{Key: Key{Dst: "any", Src: "any", DApp: app, Dir: "in"}}}
	}
	l := []Entry{e("CIFS"), e("CIFS"), e("X"), e("X"), e(""), e("")}
	bound := count(l) // 4
	if bound != 4 {
		t.Fatalf("count %d", bound)
	}
	want := map[int]int{0: 1, 2: 2, 4: 4} // index → N; 5 is past the bound, 1 and 3 split an application rule
	for j := 0; j < len(l); j++ {
		p, ok := insertPosition(l, j, bound)
		if w, has := want[j]; ok != has || p != w {
			t.Errorf("before line %d: %d, %v; want %d, %v", j, p, ok, w, has)
		}
	}
}
