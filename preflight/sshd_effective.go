package preflight

import (
	"bufio"
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The configuration on the host's disk, as sshd itself reads it for one
// connection (`sshd -T -C user=…,host=…,addr=…,laddr=…,lport=…`): the
// lockout checks judge the files a plan leaves; this judges what sshd
// would do with them once it restarts, after a run that changed them.
// The same rules as sshd-login-user and sshd-port judge it, on lines sshd
// has already resolved (Match blocks applied, Include read, defaults
// filled in).

// SSHDLogin is hako's login as sshd on the host sees it.
type SSHDLogin struct {
	User   string
	Groups []string // the user's groups on the host, primary included
	Addr   string   // the address the host sees hako come from
	LAddr  string   // the host's address hako reached, "" unknown
	LPort  int      // the host's port hako reached
	// Socket: sshd is socket-activated, so it listens where ssh.socket
	// says and its Port and ListenAddress lines do not count.
	Socket bool
	// Sensitive: a file sshd reads holds sensitive content; a refusal
	// names the keyword only, not the values sshd printed.
	Sensitive bool
}

// SSHDEffectiveRefusal judges out, the output of sshd -T -C for l, and
// returns why sshd would refuse l's public-key login ("" when it would
// let it in): a user or group list that keeps l.User out, key logins off,
// AuthenticationMethods asking more than a key, root's login refused, or
// no listening address on l's port. check is the lockout check that
// refuses the same at plan time, so that its -allow-risky overrides this
// judgement too: sshd-login-user for the login rules, sshd-port when sshd
// would not listen on l's port at all; "" when no check covers why (sshd
// on l's port, but not on the address hako reached).
func SSHDEffectiveRefusal(out []byte, l SSHDLogin) (why, check string) {
	var ds []sshdDirective
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		ds = append(ds, sshdDirective{key: strings.ToLower(f[0]), args: f[1:], line: n, global: true, conn: true})
	}
	c := &sshdConn{user: l.User, groups: l.Groups, addr: l.Addr, laddr: l.LAddr, lport: l.LPort}
	if c.groups == nil {
		c.groups = []string{}
	}
	if d, ok := first(ds, "usedns"); !ok || len(d.args) == 0 || !strings.EqualFold(d.args[0], "yes") {
		c.host = c.addr
	}
	if deny, ok := sshdRefuses(ds, c); ok {
		if l.Sensitive {
			return strings.ToLower(deny.d.keyword()) + " (sensitive; " + deny.why + ")", CheckSSHDLoginUser
		}
		return strings.ToLower(deny.d.keyword()) + " " + strings.Join(deny.d.args, " ") + " (" + deny.why + ")", CheckSSHDLoginUser
	}
	if l.Socket {
		return "", ""
	}
	if !listensFor(ds, l.LAddr, l.LPort) {
		var on []string
		for _, d := range ds {
			if d.key == "listenaddress" && len(d.args) > 0 {
				on = append(on, d.args[0])
			}
		}
		if len(on) == 0 {
			ports, _ := sshdListenPorts(ds)
			on = ports
		}
		where := strconv.Itoa(l.LPort)
		if l.LAddr != "" {
			where = netip.AddrPortFrom(parseAddr(l.LAddr), uint16(l.LPort)).String()
		}
		// sshd-port judges ports only: sshd still on l's port, on other
		// addresses, is a lockout no plan-time check refuses.
		check = CheckSSHDPort
		if ports, _ := sshdListenPorts(ds); slices.Contains(ports, strconv.Itoa(l.LPort)) {
			check = ""
		}
		if l.Sensitive {
			return "sshd would not listen on " + where, check
		}
		return "sshd would listen on " + strings.Join(on, ", ") + ", not on " + where, check
	}
	return "", ""
}

// listensFor: one of sshd's listening addresses takes connections to
// laddr (any, when unknown) on port. sshd -T prints each ListenAddress
// with its port; without one, each Port on every address.
func listensFor(ds []sshdDirective, laddr string, port int) bool {
	want := strconv.Itoa(port)
	var addrs []string
	for _, d := range ds {
		if d.key == "listenaddress" && len(d.args) > 0 {
			addrs = append(addrs, d.args[0])
		}
	}
	if len(addrs) == 0 {
		ports, _ := sshdListenPorts(ds)
		for _, p := range ports {
			if p == want {
				return true
			}
		}
		return false
	}
	local := parseAddr(laddr)
	for _, a := range addrs {
		p := listenAddressPort(a)
		if p == "" {
			continue // sshd -T names the port of each; without one it is not sshd's
		}
		if p != want {
			continue
		}
		host, _, _ := strings.Cut(a, ":")
		if rest, ok := strings.CutPrefix(a, "["); ok {
			host, _, _ = strings.Cut(rest, "]")
		}
		h, err := netip.ParseAddr(host)
		if err != nil || !local.IsValid() {
			return true // a name, or no address to hold it against: the port decides
		}
		switch {
		case h.IsUnspecified() && h.Is4() && local.Is4(),
			h.IsUnspecified() && h.Is6() && local.Is6(),
			h == local:
			return true
		}
	}
	return false
}

// parseAddr is addr without an IPv4-in-IPv6 wrapping (how the host may
// report an IPv4 connection to a dual-stack socket); invalid when addr
// is not an address.
func parseAddr(addr string) netip.Addr {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
