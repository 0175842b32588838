package preflight

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/tasks"
)

// sshd-port: the SSH configuration the plan leaves listens only on ports
// other than the host's own (host.port). Once sshd restarts, hako and its
// next run would knock on a closed port. A port move is declared on the
// host (its port, plus a bootstrap block with the old one), not by sshd's
// configuration alone.
//
// The ports are judged whenever the plan writes a file sshd reads, with a
// Port line or without: a plan that drops the host's Port line sends sshd
// back to 22. With socket activation the ports are ssh.socket's instead
// (socketListenPort); socket-activated-port speaks for sshd's then.
func sshdPort(e *env) []Finding {
	if _, socket := e.socketActivated(); socket {
		return socketListenPort(e)
	}
	ds, read, _ := e.sshdRead()
	ports, from := sshdListenPorts(ds)
	by, ok := firstPlanned(directiveFiles(from), read)
	if !ok {
		return nil // the plan leaves sshd's configuration alone
	}
	now, _ := sshdListenPorts(e.hostOnly().sshdDirectives())
	if !e.portLost(ports, now) {
		return nil
	}
	want := e.port()
	return []Finding{{Check: CheckSSHDPort, Task: by.task, Message: fmt.Sprintf(
		"%s leaves sshd on %s%s, not the host's port %s: hako would be locked out. Keep %s"+moveAdvice,
		by.task, showPorts(ports, anySensitive(directiveFiles(from))), source(by, directiveFiles(from), " (no Port line: sshd's default)"), want, want, want)}}
}

// sshdListenPorts returns the ports sshd listens on with ds, as
// sshd_config(5) has it: each ListenAddress on its own port, or on every
// Port when it names none; without ListenAddress, every Port; without
// Port, 22. from are the Port and ListenAddress lines.
func sshdListenPorts(ds []sshdDirective) (ports []string, from []sshdDirective) {
	var portLines []string
	var addrs []string // each ListenAddress's port, "" when it names none
	for _, d := range ds {
		switch {
		case len(d.args) == 0:
			continue
		case d.key == "port":
			portLines = append(portLines, portNumber(d.args[0]))
		case d.key == "listenaddress":
			addrs = append(addrs, listenAddressPort(d.args[0]))
		default:
			continue
		}
		from = append(from, d)
	}
	if len(portLines) == 0 {
		portLines = []string{"22"}
	}
	if len(addrs) == 0 {
		return uniq(portLines), from
	}
	for _, p := range addrs {
		if p == "" {
			ports = append(ports, portLines...)
		} else {
			ports = append(ports, p)
		}
	}
	return uniq(ports), from
}

// listenAddressPort is the port a ListenAddress argument names, "" for
// none: "host:port" and "[address]:port"; a bare IPv6 address has none.
func listenAddressPort(a string) string {
	if rest, ok := strings.CutPrefix(a, "["); ok {
		_, port, ok := strings.Cut(rest, "]:")
		if !ok {
			return ""
		}
		return portNumber(port)
	}
	if strings.Count(a, ":") != 1 {
		return "" // none, or a bare IPv6 address
	}
	_, port, _ := strings.Cut(a, ":")
	return portNumber(port)
}

// portNumber is a port as sshd reads one: a number (leading zeros and
// all) or a service name, of which "ssh" is the one that matters here.
func portNumber(s string) string {
	if n, err := strconv.Atoi(s); err == nil {
		return strconv.Itoa(n)
	}
	if s == "ssh" {
		return "22"
	}
	return s
}

// port is the host's port, the one hako connects to once the plan is
// applied.
func (e *env) port() string { return strconv.Itoa(e.host.Conn.Port) }

// portLost: the host's port is not among the ports the plan leaves (end).
// One exception: when the configuration as it is now (now) does not
// listen where hako reaches the host either, neither on its port nor on
// the bootstrap port a move starts from, something outside it decides (a
// port forward, sshd -p); a plan that keeps those ports then changes
// nothing hako relies on.
func (e *env) portLost(end, now []string) bool {
	if slices.Contains(end, e.port()) {
		return false
	}
	explained := slices.Contains(now, e.port()) ||
		e.host.Bootstrap != nil && slices.Contains(now, strconv.Itoa(e.host.Bootstrap.Port))
	return explained || !sameSet(end, now)
}

// hostOnly is e without the plan's files: the host as it is now.
func (e *env) hostOnly() *env {
	return &env{host: e.host, facts: e.facts, endpoint: e.endpoint, planned: map[string]plannedFile{}}
}

// firstPlanned returns the first file a task of the plan writes, looking
// through the lists in order.
func firstPlanned(lists ...[]endFile) (endFile, bool) {
	for _, list := range lists {
		for _, f := range list {
			if f.task != (tasks.Address{}) {
				return f, true
			}
		}
	}
	return endFile{}, false
}

func directiveFiles(ds []sshdDirective) []endFile {
	var out []endFile
	for _, d := range ds {
		out = append(out, d.file)
	}
	return out
}

// pathList lists the files' paths, each once, in order.
func pathList(fs []endFile) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.path)
	}
	return strings.Join(uniq(out), ", ")
}

func anySensitive(fs []endFile) bool {
	for _, f := range fs {
		if f.sensitive {
			return true
		}
	}
	return false
}

// showPorts says "port 50022" or "ports 50022, 50023"; ports read from
// sensitive content are not shown.
func showPorts(ports []string, hidden bool) string {
	switch {
	case hidden:
		return "port (sensitive)"
	case len(ports) == 0:
		return "no TCP port"
	case len(ports) == 1:
		return "port " + ports[0]
	}
	return "ports " + strings.Join(ports, ", ")
}

// uniq drops repeated strings, keeping the first of each.
func uniq(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			return false
		}
	}
	return true
}

// moveAdvice ends the sshd-port refusals, after what to keep: how hako
// moves SSH instead, by a port move (the host's new port, the old one in
// its bootstrap block). Its verb is the host's port.
const moveAdvice = "; to move SSH, change the host's port and add bootstrap { port = %s }"

// source says where the ports come from, unless from the file of the
// task named (by) alone: the files whose lines decide, or none when no
// line does and the default applies.
func source(by endFile, from []endFile, none string) string {
	switch {
	case len(from) == 0:
		return none
	case pathList(from) == by.path:
		return ""
	}
	return " (from " + pathList(from) + ")"
}
