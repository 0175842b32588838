package ufw

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The lockout check: would the firewall the plan leaves behind accept a new
// SSH connection like the one hako is using? ufw's own rules before the
// user's (/etc/ufw/before.rules) accept established connections and some
// ICMP and DHCP, never a new TCP connection, so the answer is the first of
// the user rules, in the order of the client's family, that matches tcp to
// the SSH port from the client's address; with none, the default incoming
// policy. A condition hako cannot evaluate (the interface the connection
// arrives on, the host's own address, the client's source port) counts
// against the connection: an allow rule with one is not relied on, a deny
// or reject rule with one is taken to block.

// sshMatch is how a rule matches the SSH connection.
type sshMatch int

const (
	matchNo sshMatch = iota
	matchYes
	matchMaybe
)

// matchSSH tells whether e matches new tcp connections to port from
// client, and for matchMaybe, why it might.
func (e Entry) matchSSH(client netip.Addr, port int) (sshMatch, string) {
	if e.Route || e.Dir != "in" || (e.Proto != "tcp" && e.Proto != "any") || !portIn(e.DPort, port) {
		return matchNo, ""
	}
	if e.Src != "any" {
		p, err := netip.ParsePrefix(e.Src)
		if err != nil {
			a, err := netip.ParseAddr(e.Src)
			if err != nil {
				return matchMaybe, "hako cannot read its source " + e.Src
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if !p.Contains(client) {
			return matchNo, ""
		}
	}
	var unknown []string
	if e.IfaceIn != "" {
		unknown = append(unknown, "the interface the connection arrives on ("+e.IfaceIn+")")
	}
	if e.Dst != "any" {
		unknown = append(unknown, "the address the connection is made to ("+e.Dst+")")
	}
	if e.SPort != "any" || e.SApp != "" {
		unknown = append(unknown, "the client's source port")
	}
	if len(unknown) > 0 {
		return matchMaybe, "hako cannot tell " + strings.Join(unknown, " or ")
	}
	return matchYes, ""
}

// portIn reports whether ufw's port spec ("any", "22", "22,80:90")
// includes port.
func portIn(spec string, port int) bool {
	if spec == "any" {
		return true
	}
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 == nil && err2 == nil && a <= port && port <= b {
			return true
		}
	}
	return false
}

func blocks(action string) bool { return action == "deny" || action == "reject" }

// Lockout says why the firewall cv leaves would not accept a new SSH
// connection from client to port, as the end of a sentence such as "the
// plan would lock hako out of the host: ..."; "" when it would (or when
// ufw ends up disabled).
func (cv *Convergence) Lockout(client netip.Addr, port int) string {
	if !cv.Enabled {
		return ""
	}
	client = client.Unmap().WithZone("")
	fam := V4
	if client.Is6() {
		fam = V6
	}
	conn := fmt.Sprintf("tcp port %d from %s", port, client)
	refuse := fmt.Sprintf
	if fam == V6 && !cv.IPv6 {
		return refuse("hako is connected over IPv6 (%s), and with ipv6 = false ufw drops all IPv6 traffic; set ipv6 = true and allow the SSH port", conn)
	}
	for _, e := range cv.Final[fam] {
		m, why := e.matchSSH(client, port)
		if m == matchNo || (m == matchMaybe && !blocks(e.Action)) {
			continue
		}
		if !blocks(e.Action) {
			return ""
		}
		first := "is the first rule that matches"
		if m == matchMaybe {
			first = "may be the first rule that matches (" + why + ")"
		}
		verb := map[string]string{"deny": "denies", "reject": "rejects"}[e.Action]
		if r := cv.rules[e.plan]; r != nil {
			return refuse("its %s, %q, %s the SSH connection hako is using (%s) and %s it; declare an allow rule for port %d from that address before it (in the rule blocks' order), or narrow the %s rule",
				r.where(), r.Describe(cv.IPv6), first, conn, verb, port, e.Action)
		}
		return refuse("the host's rule %q, which the plan does not declare, %s the SSH connection hako is using (%s) and %s it; delete it (exclusive = true deletes rules the plan does not declare)",
			describeRule(e.Rule, nil, cv.IPv6), first, conn, verb)
	}
	if cv.Incoming == "allow" {
		return ""
	}
	return refuse("no rule allows the SSH connection hako is using (%s), and the default for incoming traffic is %s; add `rule { port = %d }` (from anywhere) or a rule for port %d from %s",
		conn, cv.Incoming, port, port, client)
}
