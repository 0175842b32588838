package tasks

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
)

// A reference model of ufw 0.36.2, ported on its own from frontend.py
// (set_rule, the position checks) and backend_iptables.py (set_rule,
// get_app_rules_from_system), to replay the command lines hako plans and
// compare the firewall they leave with the one hako expects.

type refUFW struct {
	lists map[ufwFamily][]ufwRule
	ipv6  bool // use_ipv6(): IPV6=yes and a kernel with IPv6
}

// refMatch is UFWRule.match.
func refMatch(x, y ufwRule) int {
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

func refCount(l []ufwRule) int {
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
func (u *refUFW) backendSetRule(f ufwFamily, rule ufwRule, position int, remove bool) error {
	rules := u.lists[f]
	if position < 0 || position > len(rules) {
		return fmt.Errorf("ERROR: Invalid position '%d'", position)
	}
	var newrules []ufwRule
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
func (u *refUFW) setRule(rule ufwRule, ipVersion string, position int, remove bool) error {
	rules := []ufwRule{rule}
	if rule.DApp != "" || rule.SApp != "" {
		if !remove || ipVersion == "both" {
			return fmt.Errorf("the reference model does not replay this application rule command")
		}
		f := famV4
		if ipVersion == "v6" {
			f = famV6
		}
		rules = nil
		for _, r := range u.lists[f] {
			if r.appTuple() == rule.appTuple() {
				r.Action, r.Log = rule.Action, rule.Log
				rules = append(rules, r)
			}
		}
	}
	numV4, numV6 := refCount(u.lists[famV4]), refCount(u.lists[famV6])
	for _, r := range rules {
		pos := position
		if pos > numV4+numV6 {
			return fmt.Errorf("ERROR: Invalid position '%d'", pos)
		}
		if !u.ipv6 {
			if ipVersion == "v6" {
				return fmt.Errorf("ERROR: IPv6 support not enabled")
			}
			if err := u.backendSetRule(famV4, r, pos, remove); err != nil {
				return err
			}
			continue
		}
		switch ipVersion {
		case "v4":
			if pos > numV4 {
				return fmt.Errorf("ERROR: Invalid position '%d'", pos)
			}
			if err := u.backendSetRule(famV4, r, pos, remove); err != nil {
				return err
			}
		case "v6":
			if pos > numV4 {
				pos -= numV4
			} else if pos != 0 && pos <= numV4 {
				return fmt.Errorf("ERROR: Invalid position '%d'", pos)
			}
			if err := u.backendSetRule(famV6, r, pos, remove); err != nil {
				return err
			}
		case "both":
			if pos != 0 {
				return fmt.Errorf("the reference model does not replay insert for both families")
			}
			if err := u.backendSetRule(famV4, r, 0, remove); err != nil {
				return err
			}
			if err := u.backendSetRule(famV6, r, 0, remove); err != nil {
				return err
			}
		}
	}
	return nil
}

// run replays one command line; known are the rules it can be about (the
// host's and the plan's), found again by rendering them as hako does and
// matched on the arguments alone.
func (u *refUFW) run(args []string, known []ufwRule) error {
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
			if !reflect.DeepEqual(ufwArgs(k, src), args) {
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

// replayUFW replays c's commands on hf's rules and returns the lists after
// each command (states[0] is the host's).
func replayUFW(t *testing.T, hf ufwHostFiles, u *UFW, c *Change) []map[ufwFamily][]ufwRule {
	t.Helper()
	cv := c.detail.(*ufwConvergence)
	ref := &refUFW{lists: map[ufwFamily][]ufwRule{}, ipv6: u.ipv6}
	var known []ufwRule
	for f, path := range map[ufwFamily]string{famV4: ufwRulesPath, famV6: ufwRules6Path} {
		l, err := parseUserRules([]byte(hf.files[path]))
		if err != nil {
			t.Fatal(err)
		}
		ref.lists[f] = l
		known = append(known, l...)
	}
	for _, r := range u.rules {
		known = append(known, r.rule())
	}
	snapshot := func() map[ufwFamily][]ufwRule {
		return map[ufwFamily][]ufwRule{famV4: append([]ufwRule(nil), ref.lists[famV4]...), famV6: append([]ufwRule(nil), ref.lists[famV6]...)}
	}
	states := []map[ufwFamily][]ufwRule{snapshot()}
	for _, cmd := range append(append([][]string(nil), cv.before...), cv.cmds...) {
		if err := ref.run(cmd, known); err != nil {
			t.Fatalf("ufw %s: %v", strings.Join(cmd, " "), err)
		}
		states = append(states, snapshot())
	}
	return states
}

// checkReplay checks that the commands leave the firewall hako expects.
func checkReplay(t *testing.T, hf ufwHostFiles, u *UFW, c *Change) []map[ufwFamily][]ufwRule {
	t.Helper()
	states := replayUFW(t, hf, u, c)
	cv := c.detail.(*ufwConvergence)
	for _, f := range []ufwFamily{famV4, famV6} {
		var want []string
		for _, e := range cv.final[f] {
			want = append(want, ufwCommand(e.ufwRule, f.anyAddr()))
		}
		var got []string
		for _, r := range states[len(states)-1][f] {
			got = append(got, ufwCommand(r, f.anyAddr()))
		}
		sameLines(t, fmt.Sprintf("%s rules as ufw leaves them (commands %q)", f, cmdLines(c)), got, want)
	}
	return states
}

// sshOpen reports whether a list lets a new tcp connection to port from
// client in, first match, else the default.
func sshOpen(l []ufwRule, client string, port int, incoming string) bool {
	a := netip.MustParseAddr(client)
	for _, r := range l {
		if m, _ := (ufwEntry{ufwRule: r}).matchSSH(a, port); m == matchYes {
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
	hf.files[ufwRulesPath], hf.files[ufwRules6Path] = userRules(tuples...), userRules(v6...)
	return hf
}

var sshFrom = hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}

// The reviewer's proof: a rule that differs from the declared one only by
// its comment. `ufw delete allow 22/tcp` would delete the declared rule
// too; hako deletes the other one by its comment, and the declared rule
// stays where it is.
func TestUFWDeleteDuplicateSparesDeclared(t *testing.T) {
	hf := hostWith(t, "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in", "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6f6c64")
	u := mustUFW(t, "exclusive = true\nrule {\n port = 22\n proto = \"tcp\"\n}")
	c := checkUFW(t, u, hf, sshFrom)
	sameLines(t, "commands", cmdLines(c), []string{"delete allow 22/tcp comment old"})
	sameLines(t, "attrs", attrLines(c), []string{`rule: "allow 22/tcp from any (old)" → ""`})
	states := checkReplay(t, hf, u, c)
	for _, f := range []ufwFamily{famV4, famV6} {
		if got := states[len(states)-1][f]; len(got) != 1 || got[0].Comment != "" {
			t.Errorf("%s after: %v", f, got)
		}
	}

	// The other way round: the declared rule has the comment. A delete
	// without one would take both; the declared rule is added again
	// first, which makes the other one a copy of it, and a copy goes.
	u = mustUFW(t, "exclusive = true\nrule {\n port = 22\n proto = \"tcp\"\n comment = \"old\"\n}")
	c = checkUFW(t, u, hf, sshFrom)
	sameLines(t, "commands", cmdLines(c), []string{
		"allow from 0.0.0.0/0 to any port 22 proto tcp comment old",
		"delete allow from 0.0.0.0/0 to any port 22 proto tcp comment old",
		"allow from ::/0 to any port 22 proto tcp comment old",
		"delete allow from ::/0 to any port 22 proto tcp comment old",
	})
	sameLines(t, "attrs", attrLines(c), []string{`rule: "allow 22/tcp from any" → ""`})
	states = checkReplay(t, hf, u, c)
	for i, st := range states {
		if !sshOpen(st[famV4], "10.213.0.1", 22, "deny") {
			t.Errorf("SSH blocked after command %d of %q", i, cmdLines(c))
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
	hf.files[ufwRulesPath] = userRules(allow, deny, allow)
	hf.files[ufwRules6Path] = userRules(strings.ReplaceAll(allow, "0.0.0.0/0", "::/0"))
	u := mustUFW(t, `exclusive = true
rule {
  port  = 22
  proto = "tcp"
}
rule {
  port   = 22
  proto  = "tcp"
  from   = "10.213.0.0/24"
  action = "deny"
}`)
	_, err := u.Check(hf.state(t, u, sshFrom))
	if !isRefusal(err) || !strings.Contains(err.Error(), `its rule 2 (plan.hcl:7), "deny 22/tcp from 10.213.0.0/24", is the first rule that matches the SSH connection`) {
		t.Errorf("want the lockout refusal, got %v", err)
	}
	// From elsewhere the same change is fine, and really leaves the deny first.
	c := checkUFW(t, u, hf, hosts.Endpoint{ClientAddr: "192.168.0.9", ServerPort: 22})
	sameLines(t, "commands", cmdLines(c), []string{"delete allow from 0.0.0.0/0 to any port 22 proto tcp"})
	states := checkReplay(t, hf, u, c)
	if l := states[len(states)-1][famV4]; len(l) != 2 || l[0].Action != "deny" {
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
	plans := []string{
		"rule {\n port = 22\n proto = \"tcp\"\n}",
		"rule {\n port = 22\n proto = \"tcp\"\n comment = \"ssh\"\n}",
		"rule {\n port = 22\n proto = \"tcp\"\n action = \"limit\"\n comment = \"ssh\"\n}",
		"rule {\n port = 22\n proto = \"tcp\"\n comment = \"old\"\n}\nrule {\n port = 80\n action = \"deny\"\n}",
		"rule {\n port = 8081\n proto = \"tcp\"\n action = \"deny\"\n}\nrule {\n port = 22\n proto = \"tcp\"\n}\nrule { port = 80 }",
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
			u := mustUFW(t, fmt.Sprintf("exclusive = %v\n%s", exclusive, plan))
			t.Run(fmt.Sprintf("plan%d/exclusive=%v", i, exclusive), func(t *testing.T) {
				for _, tuples := range hostLists {
					hf := hostWith(t, tuples...)
					c, err := u.Check(hf.state(t, u, noEndpoint))
					if err != nil {
						t.Fatalf("plan %q, host %q: %v", plan, tuples, err)
					}
					runs++
					states := checkReplay(t, hf, u, c)
					final := states[len(states)-1]
					if sshOpen(states[0][famV4], "10.213.0.1", 22, "deny") && sshOpen(final[famV4], "10.213.0.1", 22, "deny") {
						for i, st := range states {
							if !sshOpen(st[famV4], "10.213.0.1", 22, "deny") {
								t.Errorf("SSH blocked after command %d", i)
							}
						}
					}
					for _, r := range u.rules {
						for _, f := range r.families {
							n := 0
							for _, x := range final[f] {
								if x == r.rule() {
									n++
								}
							}
							if n == 0 {
								t.Errorf("%s not in the %s rules: %v", r.describe(true), f, final[f])
							}
						}
					}
					if exclusive {
						for _, f := range []ufwFamily{famV4, famV6} {
							if len(final[f]) != len(u.rules) {
								t.Errorf("%s rules left: %v", f, final[f])
							}
						}
					}
					again := checkUFW(t, u, hostAfter(hf, c.detail.(*ufwConvergence)), noEndpoint)
					if again.Changed() {
						t.Errorf("second run: %v %q", attrLines(again), cmdLines(again))
					}
					if t.Failed() {
						t.Fatalf("plan %q, host %q: commands %q", plan, tuples, cmdLines(c))
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
	u := mustUFW(t, "rule {\n port = 22\n proto = \"tcp\"\n action = \"limit\"\n}")
	c := checkUFW(t, u, hf, sshFrom)
	sameLines(t, "commands", cmdLines(c), []string{"limit 22/tcp"})
	sameLines(t, "attrs", attrLines(c), []string{
		`rule: "allow 22/tcp from any" → "limit 22/tcp from any"`,
		`rule: "deny 22/tcp from any (old)" → "limit 22/tcp from any"`,
	})
	if c.Summary != "update ufw: change 2 rules" {
		t.Errorf("summary %q", c.Summary)
	}
	checkReplay(t, hf, u, c)
}

// The captured host with every kind of rule hako does not declare
// (interface, out, log, route, application profile, destination, source
// port): an exclusive plan deletes them all with commands ufw takes.
func TestUFWExclusiveOnMixedHost(t *testing.T) {
	hf := loadScenario(t, "active-mixed")
	u := mustUFW(t, "exclusive = true\ndefault_outgoing = \"reject\"\n"+seedRules)
	c := checkUFW(t, u, hf, sshFrom)
	states := checkReplay(t, hf, u, c)
	final := states[len(states)-1]
	if len(final[famV4]) != 4 || len(final[famV6]) != 3 {
		t.Errorf("left: %v", final)
	}
	if again := checkUFW(t, u, hostAfter(hf, c.detail.(*ufwConvergence)), noEndpoint); again.Changed() {
		t.Errorf("second run: %v %q", attrLines(again), cmdLines(again))
	}
}

// The reviewer's proof: ufw counts an application rule with lines for two
// protocols (CIFS, which ships with ufw) once in `ufw insert N`.
func TestUFWInsertAfterAppProfile(t *testing.T) {
	hf := hostWith(t, "allow udp 137,138 0.0.0.0/0 any 0.0.0.0/0 CIFS - in", "allow tcp 139,445 0.0.0.0/0 any 0.0.0.0/0 CIFS - in",
		"allow any 22 0.0.0.0/0 any 0.0.0.0/0 in")
	u := mustUFW(t, "rule {\n port = 8081\n proto = \"tcp\"\n action = \"deny\"\n}\nrule { port = 22 }")
	c := checkUFW(t, u, hf, sshFrom)
	sameLines(t, "commands", cmdLines(c), []string{
		"insert 2 deny from 0.0.0.0/0 to any port 8081 proto tcp", // ufw moves past CIFS's second line
		"insert 5 deny from ::/0 to any port 8081 proto tcp",      // 3 IPv4 rules as ufw counts them, then 2
	})
	states := checkReplay(t, hf, u, c)
	for _, f := range []ufwFamily{famV4, famV6} {
		if l := states[len(states)-1][f]; len(l) != 4 || l[2].DPort != "8081" {
			t.Errorf("%s after: %v", f, l)
		}
	}

	// A spot `ufw insert` cannot reach: before the last rule, with CIFS
	// earlier in the list. Check says so instead of failing halfway.
	hf = hostWith(t, "allow udp 137,138 0.0.0.0/0 any 0.0.0.0/0 CIFS - in", "allow tcp 139,445 0.0.0.0/0 any 0.0.0.0/0 CIFS - in",
		"allow any 80 0.0.0.0/0 any 0.0.0.0/0 in", "allow any 22 0.0.0.0/0 any 0.0.0.0/0 in")
	u = mustUFW(t, "rule { port = 80 }\nrule {\n port = 8081\n proto = \"tcp\"\n action = \"deny\"\n}\nrule { port = 22 }")
	_, err := u.Check(hf.state(t, u, sshFrom))
	if err == nil || !strings.Contains(err.Error(), `rule 2 (plan.hcl:3), "deny 8081/tcp from any", belongs right before the host's IPv4 rule "allow 22 from 0.0.0.0/0", but `+"`ufw insert`"+` cannot put it there`) ||
		!strings.Contains(err.Error(), "application rule (CIFS)") || !strings.Contains(err.Error(), "`ufw delete allow CIFS`") {
		t.Errorf("unreachable spot: %v", err)
	}
	// Exclusive deletes CIFS before it places deny rules: then it works.
	u = mustUFW(t, "exclusive = true\nrule { port = 80 }\nrule {\n port = 8081\n proto = \"tcp\"\n action = \"deny\"\n}\nrule { port = 22 }")
	c = checkUFW(t, u, hf, sshFrom)
	checkReplay(t, hf, u, c)
}

// ufw's insert positions, line by line: an application rule's later lines
// are skipped, and the frontend's bound counts it once.
func TestUFWInsertPosition(t *testing.T) {
	e := func(app string) ufwEntry {
		return ufwEntry{ufwRule: ufwRule{ufwKey: ufwKey{Dst: "any", Src: "any", DApp: app, Dir: "in"}}}
	}
	l := []ufwEntry{e("CIFS"), e("CIFS"), e("X"), e("X"), e(""), e("")}
	bound := ufwCount(l) // 4
	if bound != 4 {
		t.Fatalf("count %d", bound)
	}
	want := map[int]int{0: 1, 2: 2, 4: 4} // index → N; 5 is past the bound, 1 and 3 split an application rule
	for j := 0; j < len(l); j++ {
		p, ok := ufwInsertPosition(l, j, bound)
		if w, has := want[j]; ok != has || p != w {
			t.Errorf("before line %d: %d, %v; want %d, %v", j, p, ok, w, has)
		}
	}
}
