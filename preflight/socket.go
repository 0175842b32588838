package preflight

import (
	"fmt"
	"strings"

	"github.com/hako-dev/hako/tasks"
)

// socket-activated-port: sshd is socket-activated (ssh.socket enabled or
// active, as on Ubuntu 22.10 and later) and the plan sets Port or
// ListenAddress in sshd's configuration. systemd listens for sshd then,
// on ssh.socket's ListenStream, and sshd ignores both: SSH would not move.
// ssh-socket (a warning): sshd is socket-activated, Port or not.

func socketPort(e *env) []Finding {
	if _, ok := e.socketActivated(); !ok {
		return nil
	}
	var out []Finding
	seen := map[tasks.Address]bool{}
	for _, d := range e.sshdDirectives() {
		t := d.file.task
		if (d.key != "port" && d.key != "listenaddress") || t == (tasks.Address{}) || seen[t] {
			continue
		}
		seen[t] = true
		what := d.String()
		if d.file.sensitive {
			what = d.keyword()
		}
		out = append(out, Finding{Check: CheckSocketPort, Task: t, Message: fmt.Sprintf(
			"%s sets %q, but sshd is socket-activated on this host and ignores it: SSH would not move. Use an ssh.socket drop-in: ListenStream= then ListenStream=PORT",
			t, what)})
	}
	return out
}

func sshSocket(e *env) []Finding {
	sock, ok := e.socketActivated()
	if !ok {
		return nil
	}
	return []Finding{{Check: WarnSSHSocket, Message: fmt.Sprintf(
		"sshd is socket-activated on this host (%s): its port is ssh.socket's ListenStream; Port and ListenAddress in sshd_config do not apply", sock)}}
}

// socketActivated describes ssh.socket when it is enabled or active.
func (e *env) socketActivated() (string, bool) {
	u, ok := e.facts.units["ssh.socket"]
	if !ok || !u.enabled() && !u.active() {
		return "", false
	}
	var s []string
	if u.enabled() {
		s = append(s, "enabled")
	}
	if u.active() {
		s = append(s, "active")
	}
	desc := "ssh.socket is " + strings.Join(s, " and ")
	if len(u.listen) > 0 {
		desc += ", listening on " + strings.Join(u.listen, ", ")
	}
	return desc, true
}
