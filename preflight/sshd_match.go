package preflight

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// What sshd decides for one connection: its Match criteria and the
// patterns of AllowUsers, DenyUsers, AllowGroups and DenyGroups, ported
// from OpenSSH 9.2 (servconf.c match_cfg_line, match.c, addrmatch.c,
// groupaccess.c) so that the checks agree with the sshd on the host.

// sshdConn is a connection as sshd sees it.
type sshdConn struct {
	user   string
	groups []string // the user's groups, primary included (nil: no such user)
	// host is the client's name as sshd knows it: with UseDNS no (the
	// default) its address; "" when sshd would resolve it (UseDNS yes),
	// which hako cannot know: Host criteria then match nothing.
	host  string
	addr  string // the client's address, "" unknown
	laddr string // the host's address the client reached, "" unknown
	lport int    // the port it reached
}

// matches reports whether sshd applies the Match block with the criteria
// args to c: every criterion must match. A criterion hako cannot judge
// (Host when sshd resolves names, RDomain, an address unknown here) and
// one sshd would reject (which stops sshd altogether) match nothing.
func (c *sshdConn) matches(args []string) bool {
	args = splitMatchArgs(args)
	if len(args) == 0 {
		return false
	}
	if strings.EqualFold(args[0], "all") {
		return len(args) == 1
	}
	for i := 0; i < len(args); i += 2 {
		if i+1 >= len(args) || strings.HasPrefix(args[i+1], "#") {
			return false // a criterion without its argument
		}
		arg := args[i+1]
		switch strings.ToLower(args[i]) {
		case "user":
			if matchPatternList(c.user, arg, false) != 1 {
				return false
			}
		case "group":
			if c.groups == nil || groupsMatchList(c.groups, arg) != 1 {
				return false
			}
		case "host":
			if c.host == "" || matchPatternList(strings.ToLower(c.host), arg, true) != 1 {
				return false
			}
		case "address":
			if c.addr == "" || addrMatchList(c.addr, arg) != 1 {
				return false
			}
		case "localaddress":
			if c.laddr == "" || addrMatchList(c.laddr, arg) != 1 {
				return false
			}
		case "localport":
			if p, err := strconv.Atoi(arg); err != nil || p != c.lport {
				return false
			}
		default: // RDomain (no routing domains here), or what sshd rejects
			return false
		}
	}
	return true
}

// splitMatchArgs splits "User=hanako" as sshd's tokenizer does (it
// splits on blanks and on one "="), and drops a trailing comment.
func splitMatchArgs(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "#") {
			break
		}
		if k, v, ok := strings.Cut(a, "="); ok {
			if k != "" {
				out = append(out, k)
			}
			if v != "" {
				out = append(out, v)
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

// matchUser is sshd's match_user for an AllowUsers or DenyUsers pattern:
// "user" or "user@host", where user is one pattern (no list, no
// negation) and host a list of address patterns, CIDR blocks or host
// name patterns, "!" negating.
func (c *sshdConn) matchUser(pattern string) bool {
	u, h, at := strings.Cut(pattern, "@")
	if !at {
		return matchPattern(c.user, pattern)
	}
	if !matchPattern(c.user, u) {
		return false
	}
	if c.addr == "" {
		return false
	}
	mip := addrMatchList(c.addr, h)
	if mip < 0 {
		return false
	}
	mhost := 0
	if c.host != "" {
		mhost = matchPatternList(strings.ToLower(c.host), h, true)
	}
	return mhost != -1 && (mhost == 1 || mip == 1)
}

// inGroups is sshd's ga_match for AllowGroups and DenyGroups: one of the
// user's groups matches one of the patterns (no negation).
func (c *sshdConn) inGroups(patterns []string) bool {
	for _, g := range c.groups {
		for _, p := range patterns {
			if matchPattern(g, p) {
				return true
			}
		}
	}
	return false
}

// matchPattern is sshd's match_pattern: "*" any run, "?" one byte,
// case-sensitive. It matches what sshd's recursive match does, but
// backtracks only to the last "*" (the usual wildcard walk), so that a
// pattern from the host with many stars cannot keep the checks busy.
func matchPattern(s, pattern string) bool {
	si, pi := 0, 0
	star, mark := -1, 0 // the last "*" seen in pattern, and where s stood then
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
			pi++
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// matchPatternList is sshd's match_pattern_list: a comma-separated list
// of patterns, "!" negating one; 1 when one matches, -1 when a negated
// one does (that wins), else 0. lower: the patterns are lower-cased.
func matchPatternList(s, list string, lower bool) int {
	got := 0
	for _, sub := range strings.Split(list, ",") {
		neg := strings.HasPrefix(sub, "!")
		if neg {
			sub = sub[1:]
		}
		if len(sub) >= 1023 {
			return 0 // sshd gives up on a longer one
		}
		if lower {
			sub = strings.ToLower(sub)
		}
		if matchPattern(s, sub) {
			if neg {
				return -1
			}
			got = 1
		}
	}
	return got
}

// groupsMatchList is sshd's ga_match_pattern_list for Match Group: 1
// when one of groups matches the list, 0 when none does or one matches
// a negated pattern.
func groupsMatchList(groups []string, list string) int {
	found := 0
	for _, g := range groups {
		switch matchPatternList(g, list, false) {
		case -1:
			return 0
		case 1:
			found = 1
		}
	}
	return found
}

// addrMatchList is sshd's addr_match_list: a comma-separated list of
// addresses, CIDR blocks or wildcard patterns, "!" negating one; 1 when
// one matches, -1 when a negated one does, 0 when none does, -2 for a
// list sshd rejects (an empty entry, a block with host bits set).
func addrMatchList(addr, list string) int {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return 0
	}
	a = a.Unmap()
	ret := 0
	for _, entry := range strings.Split(list, ",") {
		neg := strings.HasPrefix(entry, "!")
		if neg {
			entry = entry[1:]
		}
		if entry == "" {
			return -2
		}
		matched := false
		switch p, ok := parseCIDR(entry); {
		case ok && !p.IsValid():
			return -2
		case ok:
			matched = p.Contains(a)
		default:
			matched = matchPattern(a.String(), entry)
		}
		if matched {
			if neg {
				return -1
			}
			ret = 1
		}
	}
	return ret
}

// parseCIDR reads an address or a block as sshd's addr_pton_cidr does:
// ok false when it is neither (then a wildcard pattern); a block with
// host bits set is ok with an invalid prefix (sshd rejects it).
func parseCIDR(s string) (netip.Prefix, bool) {
	addr, bits, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	n := a.BitLen()
	if hasBits {
		if n, err = strconv.Atoi(bits); err != nil || n < 0 || n > a.BitLen() || strings.HasPrefix(bits, "+") {
			return netip.Prefix{}, false
		}
	}
	p := netip.PrefixFrom(a, n)
	if p.Masked().Addr() != a {
		return netip.Prefix{}, true
	}
	return p, true
}

// groupsAfter are the groups of user as the plan leaves them, primary
// included: the host's (or, for a user a task creates, a group of its
// name, as useradd makes on Debian), with each user task's groups added
// in plan order, exclusive_groups keeping only its own and the primary
// one; nil when the user will not exist.
func (e *env) groupsAfter(user string) []string {
	var groups []string
	exists := false
	if uf := e.facts.users[user]; uf != nil && uf.exists {
		groups, exists = append([]string(nil), uf.groups...), true
	}
	for _, u := range e.userTasks(user) {
		switch {
		case !u.Present():
			groups, exists = nil, false
			continue
		case !exists:
			groups, exists = []string{user}, true
		}
		if u.ExclusiveGroups() {
			groups = groups[:min(1, len(groups))] // the primary group stays
		}
		for _, g := range u.Groups() {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	if !exists {
		return nil
	}
	return groups
}
