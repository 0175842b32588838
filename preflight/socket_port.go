package preflight

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// sshd-port, socket-activated: sshd listens where ssh.socket does, on its
// ListenStream lines: the unit's own, then its drop-ins' in file name
// order, where an empty "ListenStream=" drops the ones before it. The
// facts probe reads the unit and its drop-ins under /etc/systemd/system;
// without a unit there, the unit is Debian's, which listens on 22.
// Drop-ins under /run and /usr/lib are not read (Debian ships none).

const (
	socketUnit    = "/etc/systemd/system/ssh.socket"
	socketDropIns = "/etc/systemd/system/ssh.socket.d/"
)

// isSocketPath: ssh.socket's unit in /etc, or one of its drop-ins there.
func isSocketPath(p string) bool {
	if p == socketUnit {
		return true
	}
	name, ok := strings.CutPrefix(p, socketDropIns)
	return ok && strings.HasSuffix(name, ".conf") && !strings.Contains(name, "/")
}

// socketListenPort judges the ports ssh.socket is left with when the plan
// writes its unit or a drop-in.
func socketListenPort(e *env) []Finding {
	ports, from, read := e.socketPorts()
	by, ok := firstPlanned(from, read)
	if !ok {
		return nil // the plan leaves ssh.socket alone
	}
	now, _, _ := e.hostOnly().socketPorts()
	if !e.portLost(ports, now) {
		return nil
	}
	want := e.port()
	return []Finding{{Check: CheckSSHDPort, Task: by.task, Message: fmt.Sprintf(
		"%s leaves ssh.socket on %s%s, not the host's port %s: hako would be locked out. Keep ListenStream=%s"+moveAdvice,
		by.task, showPorts(ports, anySensitive(from)), source(by, from, " (Debian's ssh.socket)"), want, want, want)}}
}

// socketPorts returns the TCP ports ssh.socket listens on with e's files,
// the files whose ListenStream lines decide, and every file it reads.
func (e *env) socketPorts() (ports []string, from, read []endFile) {
	ports = []string{"22"} // Debian's ssh.socket: ListenStream=22
	files := e.paths(isSocketPath)
	sort.Strings(files) // the unit first, then its drop-ins by name
	for _, p := range files {
		f, _ := e.file(p)
		read = append(read, f)
		if p == socketUnit { // replaces Debian's unit, ListenStream and all
			ports, from = nil, []endFile{f}
		}
		for _, v := range listenStreams(f.data) {
			if v == "" {
				ports, from = nil, nil
			} else if port := listenStreamPort(v); port != "" {
				ports = append(ports, port)
			}
			from = append(from, f)
		}
	}
	return uniq(ports), from, read
}

// listenStreams returns the values of the ListenStream lines of a unit
// file's [Socket] section, in order.
func listenStreams(data []byte) []string {
	var out []string
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.TrimSuffix(line[1:], "]")
		case section == "Socket":
			if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "ListenStream" {
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	return out
}

// listenStreamPort is the TCP port of a ListenStream value ("50022",
// "0.0.0.0:50022", "[::]:50022"), "" for anything else (a UNIX socket).
func listenStreamPort(v string) string {
	if i := strings.LastIndex(v, ":"); i >= 0 && (strings.HasPrefix(v, "[") || strings.Count(v, ":") == 1) {
		v = v[i+1:]
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 65535 {
		return strconv.Itoa(n)
	}
	return ""
}
