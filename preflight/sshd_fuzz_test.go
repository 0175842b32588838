package preflight

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/fuzzbound"
	"github.com/hako-dev/hako/internal/plantest"
	"github.com/hako-dev/hako/tasks"
)

// fuzzPlan moves SSH to 2222 with a drop-in and manages sudo, so that the
// sshd, socket and sudo checks all read the host's files.
const fuzzPlan = aliceHost + `
task "file" "port" {
  path    = "/etc/ssh/sshd_config.d/20-port.conf"
  content = "Port 2222\n"
}
`

// FuzzSSHDConfig runs every preflight check over a host whose sshd_config,
// one drop-in, sudoers and ssh.socket drop-in are the fuzzer's, hako
// connecting from 10.0.0.5 (so that Match and user@host patterns are
// judged): no panic,
// an answer within a bound (Includes that loop or fan out stop), and
// every finding names its check and says something.
func FuzzSSHDConfig(f *testing.F) {
	f.Add([]byte(debianSSHD), []byte("Port 22\n"), []byte("root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n"),
		[]byte("[Socket]\nListenStream=\nListenStream=2222\n"))
	f.Add([]byte("Include sshd_config.d/*.conf\nMatch all\nPort 2222\nListenAddress [::1]:22\nListenAddress 0.0.0.0\n"),
		[]byte("Include /etc/ssh/sshd_config\nPasswordAuthentication=yes\n"), []byte("alice ALL=(ALL) NOPASSWD: ALL\n"), []byte(""))
	f.Add([]byte("Port = 2222 # comment\nMatch User git\n  Include /etc/ssh/git.d/*.conf\nMatch ALL\nPasswordAuthentication \"no\"\n"),
		[]byte("Include /etc/ssh/sshd_config.d/*\nListenAddress 10.0.0.1:ssh\n"), []byte("%wheel ALL=(ALL) NOPASSWD: ALL\n#includedir /etc/sudoers.d\n"),
		[]byte("[Socket]\nListenStream=[::]:50022\nListenStream=0.0.0.0:22\n"))
	f.Add([]byte(debianSSHD+"AllowUsers alice@10.0.0.0/8 pi\nMatch Group sudo Address !192.0.2.*,10.0.0.0/8 LocalPort 2222\n  AuthenticationMethods publickey,password\n"),
		[]byte("DenyGroups wheel\nMatch User=a*,!bob\n  PubkeyAuthentication no\n"), []byte(""), []byte(""))
	h := plantest.Build(f, fuzzPlan).Hosts[0]
	f.Fuzz(func(t *testing.T, sshdConfig, dropIn, sudoers, socket []byte) {
		defer fuzzbound.Start()()
		st := stateOf(t, h, login("pi"), userLine("pi", "pi,sudo"), userLine("alice", "alice,sudo"),
			hostFile("/etc/ssh/sshd_config", string(sshdConfig)), hostFile("/etc/ssh/sshd_config.d/50-host.conf", string(dropIn)),
			hostFile("/etc/sudoers", string(sudoers)), hostFile("/etc/systemd/system/ssh.socket.d/override.conf", string(socket)),
			units("enabled", "active", "inactive")[0])
		st.Endpoint = hosts.Endpoint{ClientAddr: "10.0.0.5", ServerAddr: "192.0.2.10", ServerPort: 22}
		var own []Finding
		for _, s := range h.Steps {
			c, err := s.Task.Check(st, tasks.Env{})
			own = append(own, TaskFindings(s.Task.Address(), tasks.RefusalsOf(c, err))...)
		}
		refusals, warnings := Run(h, st, own)
		for _, fd := range append(refusals, warnings...) {
			if fd.Check == "" || strings.TrimSpace(fd.Message) == "" {
				t.Errorf("finding without a check or a message: %+v", fd)
			}
		}
		for _, line := range strings.Split(string(sshdConfig), "\n") {
			if key, args := sshdLine(line); key == "" && len(args) != 0 {
				t.Errorf("%q: arguments %q without a keyword", line, args)
			}
		}
	})
}

// sshd skips one "=" before the keyword: bookworm's sshd -T says of a line
// "=0": no argument after keyword "0". So "=Port 2222" sets the port, and
// the checks must read it so.
func TestSSHDLineSkipsALeadingEquals(t *testing.T) {
	for line, want := range map[string]string{
		"=Port 2222":    "port [2222]",
		"= Port 2222":   "port [2222]",
		"=Port=2222":    "port [2222]",
		"=0":            "0 []",
		"==Port 2222":   " []", // sshd skips one "=" only: no keyword
		"=# Port 2222":  " []",
		"  =\tPort 22 ": "port [22]",
	} {
		k, args := sshdLine(line)
		if got := k + " [" + strings.Join(args, " ") + "]"; got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
}
