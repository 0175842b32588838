package ufw

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ufw's state as `ufw status verbose` reports it, read without running ufw
// (a Python program that takes a tenth of a second or more to start):
// from the files ufw itself reads (/etc/default/ufw, /etc/ufw/ufw.conf,
// user.rules, user6.rules) and from the two things it asks the system:
// whether the kernel holds its chains, and the forwarding switches.
// Everything here follows ufw 0.36's own code (backend.py _get_defaults,
// get_loglevel, _get_default_policy; backend_iptables.py get_status and
// _read_rules); StatusVerbose prints the state the way `ufw status
// verbose` does, which the tests compare with the real command's output.

// The files ufw keeps its settings and rules in.
const (
	DefaultsPath = "/etc/default/ufw"
	ConfPath     = "/etc/ufw/ufw.conf"
	RulesPath    = "/etc/ufw/user.rules"
	Rules6Path   = "/etc/ufw/user6.rules"
)

// Chains are ufw's user chains that `ufw status` looks for, in the order
// it looks (ufw-user-input, ufw6-user-input, ufw-user-output, ...).
var Chains = []string{"input", "output", "forward"}

// Kernel is what the probe learned beside ufw's files.
type Kernel struct {
	Installed bool // the ufw command is there
	IPv6      bool // the kernel has IPv6 (/proc/sys/net/ipv6 exists)
	// Exit4 and Exit6 are the exit statuses of `iptables -S` and
	// `ip6tables -S` (the binaries ufw runs, in /usr/sbin), -1 when not
	// run: ip6tables runs only when the kernel has IPv6 and holds
	// ufw-user-input, as ufw looks at IPv6 only then.
	Exit4, Exit6 int
	// Chains4 and Chains6 are those of Chains the kernel holds
	// (ufw-user-NAME, ufw6-user-NAME).
	Chains4, Chains6 []string
	// Sysctl holds the forwarding switches by their path under
	// /proc/sys/net ("ipv4/ip_forward", "ipv6/conf/default/forwarding",
	// "ipv6/conf/all/forwarding"); "-" when the file is missing.
	Sysctl map[string]string
}

// Status is ufw's state.
type Status struct {
	Installed bool
	// Active: the kernel holds ufw's chains, which is what `ufw status`
	// calls active (it asks iptables, not ufw.conf).
	Active bool
	// Enabled: ufw.conf says ENABLED=yes. ufw's boot service loads the
	// rules only then, and ufw's rule commands change the running
	// firewall only then (otherwise they change the files alone).
	Enabled bool
}

// On reports whether ufw is on in full: its rules loaded and enabled at
// boot, so that its commands change the running firewall and a reboot
// brings it back. `ufw enable` leaves it so; `ufw disable` leaves both off.
func (s Status) On() bool { return s.Installed && s.Active && s.Enabled }

// Settings are ufw's settings as it reads them: the lines of
// /etc/default/ufw, then of ufw.conf (whose values win), that start with
// NAME=VALUE (VALUE optionally in double quotes), by lowercased name,
// with the value lowercased and its quotes trimmed.
type Settings map[string]string

// settingLine is ufw's pattern for a setting line (re.search of
// ^\w+="?\w+"? on the line as read). Python's \w is Unicode's letters and
// numbers and the underscore.
var settingLine = regexp.MustCompile(`^[\p{L}\p{N}_]+="?[\p{L}\p{N}_]+`)

// ParseSettings reads the settings files in the order given, as ufw's
// _get_defaults does. ufw reads them as UTF-8 text and fails on anything
// else; so does this.
func ParseSettings(files ...NamedFile) (Settings, error) {
	s := Settings{}
	for _, f := range files {
		if !utf8.Valid(f.Data) {
			return nil, fmt.Errorf("%s is not UTF-8 text (ufw cannot read it either)", f.Path)
		}
		for _, line := range pyLines(string(f.Data)) {
			if !settingLine.MatchString(line) {
				continue
			}
			parts := strings.Split(pyStrip(line), "=")
			s[pyLower(parts[0])] = strings.Trim(pyLower(parts[1]), `"'`)
		}
	}
	return s, nil
}

// NamedFile is a file's path (for messages) and content.
type NamedFile struct {
	Path string
	Data []byte
}

// pyLines splits text into lines as Python's text files do (universal
// newlines: \n, \r\n and \r end a line), keeping each line's end.
func pyLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			out = append(out, s)
			break
		}
		n := i + 1
		if s[i] == '\r' && n < len(s) && s[n] == '\n' {
			n++
		}
		out = append(out, s[:i]+"\n")
		s = s[n:]
	}
	return out
}

// pyStrip is Python's str.strip(): Unicode white space, and the
// separators U+001C to U+001F, which Python counts as space.
func pyStrip(s string) string { return strings.TrimFunc(s, pySpace) }

// pySpace is Python's str.isspace() for one character (and \s).
func pySpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

// pyLower is Python's str.lower() for what can make a name or value ufw
// knows: Go lowers U+0130 (İ) to a plain i, Python to i and a combining
// dot, which matches no name.
func pyLower(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}

// policyName is how ufw names a default policy (_get_default_policy):
// accept is allow, reject is reject, anything else (drop) is deny.
func policyName(p string) string {
	switch p {
	case "accept":
		return "allow"
	case "reject":
		return "reject"
	}
	return "deny"
}

// Defaults is what ufw's settings say, in ufw's words.
type Defaults struct {
	IPv6                       bool   // IPV6=yes (ufw uses it when the kernel has IPv6 too)
	Incoming, Outgoing, Routed string // allow, deny or reject
	// Logging is the level (off, low, medium, high, full), "" when the
	// setting is missing or none of these ("Logging: unknown").
	Logging string
	// AppPolicy is what applies to new application profiles: allow,
	// deny, reject or skip.
	AppPolicy string
}

// defaults reads the settings ufw needs, with ufw's errors: it refuses
// to run without a valid policy for each chain, and `ufw status verbose`
// fails without DEFAULT_APPLICATION_POLICY.
func (s Settings) defaults() (Defaults, error) {
	var d Defaults
	for _, c := range Chains {
		p, ok := s["default_"+c+"_policy"]
		switch {
		case !ok:
			return d, fmt.Errorf("%s has no DEFAULT_%s_POLICY (ufw refuses to run without it)", DefaultsPath, strings.ToUpper(c))
		case p != "accept" && p != "drop" && p != "reject":
			return d, fmt.Errorf("%s: DEFAULT_%s_POLICY is %q, ufw takes ACCEPT, DROP or REJECT (it refuses to run)", DefaultsPath, strings.ToUpper(c), p)
		}
	}
	ap, ok := s["default_application_policy"]
	if !ok {
		return d, fmt.Errorf("%s has no DEFAULT_APPLICATION_POLICY (`ufw status verbose` fails without it)", DefaultsPath)
	}
	d.IPv6 = s["ipv6"] == "yes"
	d.Incoming = policyName(s["default_input_policy"])
	d.Outgoing = policyName(s["default_output_policy"])
	d.Routed = policyName(s["default_forward_policy"])
	switch l := s["loglevel"]; l {
	case "off", "low", "medium", "high", "full":
		d.Logging = l
	}
	d.AppPolicy = "skip"
	switch ap {
	case "accept":
		d.AppPolicy = "allow"
	case "drop":
		d.AppPolicy = "deny"
	case "reject":
		d.AppPolicy = "reject"
	}
	return d, nil
}

// Host is the firewall as a host has it.
type Host struct {
	Status Status
	// Defaults are the settings ufw works with (and `ufw status verbose`
	// prints).
	Defaults    Defaults
	DefaultFile []byte // /etc/default/ufw
	// UseIPv6 is ufw's use_ipv6: IPV6=yes and a kernel with IPv6. ufw
	// reads user6.rules and shows its rules only then.
	UseIPv6 bool
	// Forwarding: the kernel forwards packets (a switch of Kernel.Sysctl
	// holds a 1); without it `ufw status verbose` shows routed as
	// "disabled". Known only when ufw is active.
	Forwarding bool
	Lists      map[Family][]Rule
}

// HostFiles are ufw's files as the probe read them.
type HostFiles struct {
	Defaults, Conf, Rules, Rules6 []byte
}

// NewHost reads the firewall from ufw's files and what the kernel holds,
// exactly as ufw reads them; an error where ufw itself would fail (`ufw
// status` exits 1) or where hako cannot read a rule.
func NewHost(k Kernel, f HostFiles) (*Host, error) {
	h := &Host{Lists: map[Family][]Rule{}, Status: Status{Installed: k.Installed}}
	if !k.Installed {
		return h, nil
	}
	h.DefaultFile = f.Defaults
	set, err := ParseSettings(NamedFile{DefaultsPath, f.Defaults}, NamedFile{ConfPath, f.Conf})
	if err != nil {
		return nil, err
	}
	if h.Defaults, err = set.defaults(); err != nil {
		return nil, err
	}
	h.Status.Enabled = set["enabled"] == "yes"
	h.UseIPv6 = h.Defaults.IPv6 && k.IPv6
	for _, l := range []struct {
		f    Family
		path string
		data []byte
	}{{V4, RulesPath, f.Rules}, {V6, Rules6Path, f.Rules6}} {
		if h.Lists[l.f], err = ParseUserRules(l.data); err != nil {
			return nil, fmt.Errorf("%s: %w", l.path, err)
		}
	}
	if h.Status.Active, err = k.active(h.UseIPv6); err != nil {
		return nil, err
	}
	if h.Status.Active {
		if h.Forwarding, err = k.forwarding(h.UseIPv6); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// active is get_status's test: the firewall is active when the kernel
// holds ufw's IPv4 chains; with IPv6 in use, ufw fails when an IPv6 chain
// is missing beside its IPv4 one.
func (k Kernel) active(useIPv6 bool) (bool, error) {
	if k.Exit4 != 0 {
		return false, fmt.Errorf("cannot tell whether ufw's firewall is loaded: /usr/sbin/iptables -S exited %d", k.Exit4)
	}
	for _, c := range Chains {
		if !slices.Contains(k.Chains4, c) {
			return false, nil
		}
		if !useIPv6 {
			continue
		}
		if k.Exit6 != 0 {
			return false, fmt.Errorf("cannot tell whether ufw's IPv6 firewall is loaded: /usr/sbin/ip6tables -S exited %d", k.Exit6)
		}
		if !slices.Contains(k.Chains6, c) {
			return false, fmt.Errorf("the kernel holds ufw's IPv4 chain ufw-user-%s but not its IPv6 one, ufw6-user-%s (ufw's firewall is half loaded; `ufw status` fails too): run `ufw reload` or `ufw disable` on the host", c, c)
		}
	}
	return true, nil
}

// forwarding is _get_default_policy's test for routed: sysctl
// net.ipv4.ip_forward (which must be there), and with IPv6 in use
// net.ipv6.conf.default.forwarding and net.ipv6.conf.all.forwarding,
// forward when one of them holds a 1.
func (k Kernel) forwarding(useIPv6 bool) (bool, error) {
	v4 := k.Sysctl["ipv4/ip_forward"]
	if v4 == "" || v4 == "-" {
		return false, fmt.Errorf("cannot read /proc/sys/net/ipv4/ip_forward (`ufw status verbose` fails too)")
	}
	on := strings.Contains(v4, "1")
	if useIPv6 {
		for _, p := range []string{"ipv6/conf/default/forwarding", "ipv6/conf/all/forwarding"} {
			on = on || strings.Contains(k.Sysctl[p], "1")
		}
	}
	return on, nil
}

// Summary says what the host has, e.g. "ufw active: 4 rules, default deny
// incoming, allow outgoing"; with ipv6, a rule in both lists counts once.
func (h *Host) Summary(ipv6 bool) string {
	n := len(h.Lists[V4])
	if ipv6 {
		n = len(mergeFamilies(h.Lists, ipv6))
	}
	return fmt.Sprintf("ufw %s: %s, default %s incoming, %s outgoing", h.Status.describe(), plural(n, "rule"), h.Defaults.Incoming, h.Defaults.Outgoing)
}

// describe is the status as hako shows it: "active" only when on in full.
func (s Status) describe() string {
	switch {
	case !s.Installed:
		return "not installed"
	case s.Active && s.Enabled:
		return "active"
	case s.Active:
		return "active, but ENABLED=no in " + ConfPath
	case s.Enabled:
		return "inactive, but ENABLED=yes in " + ConfPath
	}
	return "inactive"
}

// StatusVerbose is what `ufw status verbose` prints for h (without the
// final newline the command adds), as get_status writes it. hako does not
// need it to work; the tests compare it with what ufw printed, which shows
// that h holds all ufw knows.
func (h *Host) StatusVerbose() string {
	if !h.Status.Active {
		return "Status: inactive"
	}
	d := h.Defaults
	logging := "unknown"
	switch {
	case d.Logging == "off":
		logging = "off"
	case d.Logging != "":
		logging = "on (" + d.Logging + ")"
	}
	routed := d.Routed
	if !h.Forwarding {
		routed = "disabled"
	}
	var in, out, rte strings.Builder
	fams := []Family{V4}
	if h.UseIPv6 {
		fams = append(fams, V6)
	}
	for _, f := range fams {
		for _, r := range h.Lists[f] {
			line := statusLine(r, f)
			switch {
			case r.Route:
				rte.WriteString(line)
			case r.Dir == "out":
				out.WriteString(line)
			default:
				in.WriteString(line)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Status: active\nLogging: %s\nDefault: %s (incoming), %s (outgoing), %s (routed)\nNew profiles: %s",
		logging, d.Incoming, d.Outgoing, routed, d.AppPolicy)
	s, o, r := in.String(), out.String(), rte.String()
	if s == "" && o == "" && r == "" {
		return b.String()
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "%-26s %-12s%s\n", "To", "Action", "From")
	fmt.Fprintf(&b, "%-26s %-12s%s\n", "--", "------", "----")
	b.WriteString(s)
	if s != "" && o != "" {
		b.WriteString("\n")
	}
	b.WriteString(o)
	if s != "" && r != "" {
		b.WriteString("\n")
	}
	b.WriteString(r)
	return b.String()
}

// statusLine is one rule's line of `ufw status verbose`.
func statusLine(r Rule, f Family) string {
	anyAddr := f.anyAddr()
	raw := func(a string) string {
		if a == "any" {
			return anyAddr
		}
		return a
	}
	src, dst := raw(r.Src), raw(r.Dst)
	loc := map[string]string{}
	for _, e := range []struct{ name, addr, port, app string }{
		{"dst", dst, r.DPort, r.DApp}, {"src", src, r.SPort, r.SApp},
	} {
		l := ""
		if e.addr != anyAddr {
			l = e.addr
		}
		if e.port != "any" {
			if l == "" {
				l = e.port
			} else {
				l += " " + e.port
			}
			if r.Proto != "any" {
				l += "/" + r.Proto
			}
			if e.app != "" {
				l += " (" + e.app
				if f == V6 && e.addr == anyAddr {
					l += " (v6)"
				}
				l += ")"
			}
		}
		if e.port == "any" {
			if e.addr == anyAddr {
				l = "Anywhere"
				if r.Proto != "any" && dst == src && r.DPort == r.SPort {
					l += "/" + r.Proto
				}
				if f == V6 {
					l += " (v6)"
				}
			} else if r.Proto != "any" && r.DPort == r.SPort {
				l += "/" + r.Proto
			}
		} else if f == V6 && src == anyAddr && dst == anyAddr && !strings.Contains(l, " (v6)") {
			l += " (v6)"
		}
		switch {
		case r.Route && e.name == "src" && r.IfaceIn != "":
			l += " on " + r.IfaceIn
		case r.Route && e.name == "dst" && r.IfaceOut != "":
			l += " on " + r.IfaceOut
		case !r.Route && e.name == "dst" && r.IfaceIn != "":
			l += " on " + r.IfaceIn
		case !r.Route && e.name == "src" && r.IfaceOut != "":
			l += " on " + r.IfaceOut
		}
		loc[e.name] = l
	}
	attrib := ""
	if r.Log != "" {
		attrib = " (" + strings.ToLower(r.Log) + ")"
	}
	dir := strings.ToUpper(r.Dir)
	if r.Route {
		dir = "FWD"
	}
	comment := ""
	if r.Comment != "" {
		comment = " # " + r.Comment
	}
	return fmt.Sprintf("%-26s %-12s%-26s%s%s\n", loc["dst"], strings.ToUpper(r.Action)+" "+dir, loc["src"], attrib, comment)
}
