package hosts

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
)

// shellSpecial are the characters OpenSSH refuses in a host or user name
// given on its command line: ProxyCommand's %h, %n and %r put the names
// into a command the shell runs, where these would run commands of their
// own.
const shellSpecial = "'`\"$\\;&<>|(){}"

// CheckUser checks a login user name from the plan (`user`, a bootstrap
// block's `user`): it must not look like an option, nor hold blanks,
// control characters or shellSpecial.
func CheckUser(s string) error {
	switch {
	case strings.HasPrefix(s, "-"):
		return fmt.Errorf("user %q starts with '-'", s)
	case strings.ContainsFunc(s, unicode.IsSpace) || strings.ContainsFunc(s, unicode.IsControl) || strings.ContainsAny(s, shellSpecial):
		return fmt.Errorf("user %q contains a space, a control character or one of %s", s, shellSpecial)
	}
	return nil
}

// CheckAddress checks a host block's address: a host name, an ssh_config
// alias or an IP address, IPv6 with or without brackets. It returns the
// address to use (brackets removed). A user or a port written into the
// address is refused with the attribute that says it instead: with both a
// port in the address and a `port` attribute, which one wins would be a
// guess.
func CheckAddress(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("the address is empty")
	}
	if strings.ContainsFunc(s, unicode.IsSpace) || strings.ContainsFunc(s, unicode.IsControl) || strings.ContainsAny(s, shellSpecial+",") {
		// The address is ProxyCommand's %h and %n, which the shell reads.
		return "", fmt.Errorf("address %q contains a space, a control character or one of %s,", s, shellSpecial)
	}
	if strings.HasPrefix(s, "-") {
		// ssh and every other tool would read it as an option.
		return "", fmt.Errorf("address %q starts with '-'", s)
	}
	if strings.HasPrefix(s, "ssh://") {
		return "", fmt.Errorf("address %q is a URL: write the host alone in address, and the user and port in `user =` and `port =`", s)
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		user, rest := s[:i], s[i+1:]
		return "", fmt.Errorf("address %q has a user in it: write address = %q and user = %q", s, rest, user)
	}
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", fmt.Errorf("address %q: '[' without ']'", s)
		}
		host, rest := s[1:end], s[end+1:]
		if rest != "" {
			if p, ok := strings.CutPrefix(rest, ":"); ok && isPort(p) {
				return "", fmt.Errorf("address %q has a port in it: write address = %q and port = %s", s, host, p)
			}
			return "", fmt.Errorf("address %q: unexpected %q after ']'", s, rest)
		}
		if !isIPv6(host) {
			return "", fmt.Errorf("address %q: only an IPv6 address goes in brackets", s)
		}
		return host, nil
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, nil
	case 1:
		host, p, _ := strings.Cut(s, ":")
		if isPort(p) {
			return "", fmt.Errorf("address %q has a port in it: write address = %q and port = %s", s, host, p)
		}
		return "", fmt.Errorf("address %q: a ':' belongs only in an IPv6 address", s)
	}
	if !isIPv6(s) {
		return "", fmt.Errorf("address %q is not a valid IPv6 address (write an IPv6 address with a port as address = \"2001:db8::1\" and port = 2222)", s)
	}
	return s, nil
}

func isPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && p[0] != '+'
}

// isIPv6 accepts an IPv6 address, with a zone ("fe80::1%eth0") too.
func isIPv6(s string) bool {
	addr, _, _ := strings.Cut(s, "%")
	ip := net.ParseIP(addr)
	return ip != nil && strings.Contains(addr, ":")
}

// JumpHop is one hop of a ProxyJump list: [user@]host[:port], or
// ssh://[user@]host[:port]. User and Port are empty/0 when not given.
type JumpHop struct {
	User string
	Host string
	Port int
}

func (j JumpHop) String() string {
	s := j.Host
	if j.Port != 0 {
		s = net.JoinHostPort(j.Host, strconv.Itoa(j.Port))
	}
	if j.User != "" {
		s = j.User + "@" + s
	}
	return s
}

// ParseProxyJump splits a ProxyJump value into its hops, in the order
// they are reached. "none" (any case) and "" mean no jump host.
func ParseProxyJump(v string) ([]JumpHop, error) {
	v = strings.TrimSpace(v)
	if v == "" || strings.EqualFold(v, "none") {
		return nil, nil
	}
	var hops []JumpHop
	for _, part := range strings.Split(v, ",") {
		h, err := parseHop(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("ProxyJump %q: %w", v, err)
		}
		hops = append(hops, h)
	}
	return hops, nil
}

func parseHop(s string) (JumpHop, error) {
	var h JumpHop
	s = strings.TrimPrefix(s, "ssh://")
	s = strings.TrimSuffix(s, "/")
	if i := strings.LastIndex(s, "@"); i >= 0 {
		h.User, s = s[:i], s[i+1:]
		if h.User == "" {
			return h, fmt.Errorf("hop %q: empty user", s)
		}
	}
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return h, fmt.Errorf("hop %q: '[' without ']'", s)
		}
		h.Host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok || !isPort(p) {
				return h, fmt.Errorf("hop %q: bad port", s)
			}
			h.Port, _ = strconv.Atoi(p)
		}
	case strings.Count(s, ":") == 1:
		host, p, _ := strings.Cut(s, ":")
		if !isPort(p) {
			return h, fmt.Errorf("hop %q: bad port %q", s, p)
		}
		h.Host = host
		h.Port, _ = strconv.Atoi(p)
	default:
		h.Host = s // a name, or an IPv6 address without a port
	}
	if h.Host == "" || strings.HasPrefix(h.Host, "-") || strings.ContainsAny(h.Host, " \t'\"`\\") {
		return h, fmt.Errorf("hop %q: bad host name", s)
	}
	return h, nil
}
