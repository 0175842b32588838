package lint

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/tasks"
)

// sshd-port: the sshd configuration the plan leaves listens only on ports
// other than the host's own (host.port). Once sshd restarts, hako and its
// next run would knock on a closed port. A port move is declared on the
// host (its port, plus a bootstrap block with the old one), not by sshd's
// configuration alone. sshd listens on every Port line it reads.
func sshdPort(e *env) []Finding {
	if _, socket := e.socketActivated(); socket {
		return nil // socket-activated-port speaks for that case
	}
	var ports []string
	var by tasks.Address
	where := ""
	hidden := false // a port from sensitive content is not shown
	for _, d := range e.sshdDirectives() {
		if d.key != "port" || len(d.args) == 0 {
			continue
		}
		ports = append(ports, d.args[0])
		hidden = hidden || d.file.sensitive
		if d.file.task != (tasks.Address{}) && by == (tasks.Address{}) {
			by, where = d.file.task, d.file.path
		}
	}
	if by == (tasks.Address{}) {
		return nil // the plan sets no Port
	}
	want := strconv.Itoa(e.host.Conn.Port)
	for _, p := range ports {
		if p == want {
			return nil
		}
	}
	shown := strings.Join(ports, ", ")
	if hidden {
		shown = "(sensitive)"
	}
	return []Finding{{Check: CheckSSHDPort, Task: by, Message: fmt.Sprintf(
		"%s makes sshd listen on port %s (%s), but the host's port is %s: after sshd restarts, hako could not connect again. To move SSH, set the host's port to the new one and add a bootstrap block with the old (bootstrap { port = %s }), so that hako moves it safely",
		by, shown, where, want, want)}}
}
