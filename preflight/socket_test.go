package preflight

import (
	"strings"
	"testing"
)

func TestSocketActivatedPort(t *testing.T) {
	port := sshdTask("port", "/etc/ssh/sshd_config.d/20-port.conf", "Port 2222\n")
	listen := sshdTask("listen", "/etc/ssh/sshd_config.d/30-listen.conf", "ListenAddress 192.168.0.64:2222\n")
	sshd := hostFile("/etc/ssh/sshd_config", debianSSHD)
	for _, c := range []struct {
		name, tasks    string
		units          []fact
		refused, warns string
	}{
		{"enabled, Port", port, units("enabled", "active", "inactive"), "socket-activated-port file.port", ""},
		{"active only, ListenAddress", listen, units("disabled", "active", "inactive"), "socket-activated-port file.listen", ""},
		{"both tasks", port + listen, units("enabled", "inactive", "inactive"), "socket-activated-port file.port; socket-activated-port file.listen", ""},
		{"enabled, no Port", sshdTask("keys", "/etc/ssh/sshd_config.d/10-keys.conf", "PubkeyAuthentication yes\n"),
			units("enabled", "inactive", "inactive"), "", "ssh-socket"},
		// Without the socket, Port 2222 applies, and the host's port is 22.
		{"ssh.service", port, units("disabled", "inactive", "inactive"), "sshd-port file.port", ""},
		{"no systemd", port, nil, "sshd-port file.port", ""},
		{"Port not read by sshd", sshdTask("port", "/etc/ssh/port.txt", "Port 2222\n"), units("enabled", "active", "inactive"), "", "ssh-socket"},
	} {
		h := hostOf(t, piHost+c.tasks)
		ref, warn := run(t, h, nil, append([]fact{login("pi"), userLine("pi", "pi,sudo"), sshd}, c.units...)...)
		wantFindings(t, c.name+": refusals", ref, c.refused)
		wantFindings(t, c.name+": warnings", warn, c.warns)
	}

	h := hostOf(t, piHost+port)
	facts := append([]fact{login("pi"), userLine("pi", "pi,sudo"), sshd}, units("enabled", "active", "inactive")...)
	ref, _ := run(t, h, nil, facts...)
	mustMention(t, ref[0], `file.port sets "Port 2222", but sshd is socket-activated on this host and ignores it: SSH would not move`,
		"ListenStream= then ListenStream=PORT")
	if e := ref[0].Err().Error(); !strings.HasSuffix(e, "(check socket-activated-port; -allow-risky socket-activated-port overrides it)") {
		t.Errorf("error %q", e)
	}
	ref, warn := run(t, h, map[string]bool{CheckSocketPort: true}, facts...)
	wantFindings(t, "overridden", ref, "")
	wantFindings(t, "overridden: warnings", warn, "socket-activated-port file.port")
	mustMention(t, warn[0], "overridden by -allow-risky socket-activated-port: file.port sets")

	h = hostOf(t, piHost)
	_, warn = run(t, h, nil, append([]fact{login("pi"), userLine("pi", "pi,sudo"), sshd}, units("enabled", "active", "inactive")...)...)
	mustMention(t, warn[0], "sshd is socket-activated on this host (ssh.socket is enabled and active, listening on [::]:22): its port is ssh.socket's ListenStream", "(check ssh-socket)")
}

// A socket-activated sshd listens on ssh.socket's ListenStream lines: a
// plan that moves them off the host's port is refused as sshd-port.
func TestSSHDPortSocket(t *testing.T) {
	const dropIn = "/etc/systemd/system/ssh.socket.d/port.conf"
	active := units("enabled", "active", "inactive")
	for _, c := range []struct {
		name, host, tasks string
		facts             []fact // beyond Debian's sshd_config and the units
		units             []fact
		refused           string
	}{
		{"reset, then another port", piHost, sshdTask("sock", dropIn, "[Socket]\nListenStream=\nListenStream=50022\n"), nil, active, "sshd-port file.sock"},
		{"IPv4 address and port", piHost, sshdTask("sock", dropIn, "[Socket]\nListenStream=\nListenStream=0.0.0.0:50022\n"), nil, active, "sshd-port file.sock"},
		{"IPv6 address and port", piHost, sshdTask("sock", dropIn, "[Socket]\nListenStream =\nListenStream = [::]:50022\n"), nil, active, "sshd-port file.sock"},
		{"only a UNIX socket left", piHost, sshdTask("sock", dropIn, "[Socket]\nListenStream=\nListenStream=/run/sshd.sock\n"), nil, active, "sshd-port file.sock"},
		{"a unit of its own", piHost, sshdTask("sock", "/etc/systemd/system/ssh.socket", "[Unit]\nDescription=ssh\n[Socket]\nListenStream=50022\nAccept=yes\n"), nil, active, "sshd-port file.sock"},
		{"no reset: 22 stays", piHost, sshdTask("sock", dropIn, "[Socket]\nListenStream=50022\n"), nil, active, ""},
		{"reset, then 22 among others", piHost, sshdTask("sock", dropIn, "[Socket]\nListenStream=\nListenStream=50022\nListenStream=[::]:22\n"), nil, active, ""},
		{"outside [Socket]", piHost, sshdTask("sock", dropIn, "[Install]\nListenStream=\n[Socket]\nBacklog=64\n"), nil, active, ""},
		{"not a drop-in", piHost, sshdTask("sock", dropIn+".bak", "[Socket]\nListenStream=\nListenStream=50022\n"), nil, active, ""},
		{"a later drop-in on the host keeps 22", piHost, sshdTask("sock", "/etc/systemd/system/ssh.socket.d/20-move.conf", "[Socket]\nListenStream=\nListenStream=50022\n"),
			[]fact{hostFile("/etc/systemd/system/ssh.socket.d/30-keep.conf", "[Socket]\nListenStream=22\n")}, active, ""},
		{"an earlier drop-in's 22 is reset", piHost, sshdTask("sock", "/etc/systemd/system/ssh.socket.d/20-move.conf", "[Socket]\nListenStream=\nListenStream=50022\n"),
			[]fact{hostFile("/etc/systemd/system/ssh.socket.d/10-keep.conf", "[Socket]\nListenStream=22\n")}, active, "sshd-port file.sock"},
		{"the host's drop-in keeps its port", movedHost, sshdTask("sock", "/etc/systemd/system/ssh.socket.d/20-backlog.conf", "[Socket]\nBacklog=64\n"),
			[]fact{hostFile("/etc/systemd/system/ssh.socket.d/10-port.conf", "[Socket]\nListenStream=\nListenStream=2222\n")}, active, ""},
		{"the plan rewrites the host's drop-in", movedHost, sshdTask("sock", "/etc/systemd/system/ssh.socket.d/10-port.conf", "[Socket]\nBacklog=64\n"),
			[]fact{hostFile("/etc/systemd/system/ssh.socket.d/10-port.conf", "[Socket]\nListenStream=\nListenStream=2222\n")}, active, "sshd-port file.sock"},
		// Without the socket, the drop-in does nothing, and sshd's files are untouched.
		{"ssh.service", piHost, sshdTask("sock", dropIn, "[Socket]\nListenStream=\nListenStream=50022\n"), nil, units("disabled", "inactive", "inactive"), ""},
		// With it, sshd's Port is socket-activated-port's business.
		{"sshd's Port", piHost, sshdTask("port", "/etc/ssh/sshd_config.d/20-port.conf", "Port 50022\n"), nil, active, "socket-activated-port file.port"},
	} {
		h := hostOf(t, c.host+c.tasks)
		facts := append(append([]fact{login("pi"), userLine("pi", "pi,sudo"), userLine("alice", "alice,sudo"), hostFile("/etc/ssh/sshd_config", debianSSHD)}, c.facts...), c.units...)
		ref, _ := run(t, h, nil, facts...)
		wantFindings(t, c.name, ref, c.refused)
	}
}

func TestSSHDPortSocketMessages(t *testing.T) {
	facts := append([]fact{login("pi"), userLine("pi", "pi,sudo"), hostFile("/etc/ssh/sshd_config", debianSSHD)}, units("enabled", "active", "inactive")...)
	h := hostOf(t, piHost+sshdTask("sock", "/etc/systemd/system/ssh.socket.d/port.conf", "[Socket]\nListenStream=\nListenStream=50022\n"))
	ref, warn := run(t, h, nil, facts...)
	wantFindings(t, "refusals", ref, "sshd-port file.sock")
	wantFindings(t, "warnings", warn, "ssh-socket")
	mustMention(t, ref[0], "file.sock leaves ssh.socket on port 50022, not the host's port 22: hako would be locked out",
		"Keep ListenStream=22; to move SSH", "(check sshd-port)")

	// The plan rewrites the host's drop-in without its ListenStream lines:
	// Debian's unit decides, and the message says so.
	h = hostOf(t, movedHost+sshdTask("sock", "/etc/systemd/system/ssh.socket.d/10-port.conf", "[Socket]\nBacklog=64\n"))
	ref, _ = run(t, h, nil, append(facts, userLine("alice", "alice,sudo"), hostFile("/etc/systemd/system/ssh.socket.d/10-port.conf", "[Socket]\nListenStream=\nListenStream=2222\n"))...)
	wantFindings(t, "Debian's unit", ref, "sshd-port file.sock")
	mustMention(t, ref[0], "file.sock leaves ssh.socket on port 22 (Debian's ssh.socket), not the host's port 2222")

	h = hostOf(t, piHost+`
variable "port" {
  type      = string
  default   = "50022"
  sensitive = true
}

task "file" "sock" {
  path    = "/etc/systemd/system/ssh.socket.d/port.conf"
  content = "[Socket]\nListenStream=\nListenStream=${var.port}\n"
}
`)
	ref, _ = run(t, h, nil, facts...)
	wantFindings(t, "sensitive", ref, "sshd-port file.sock")
	mustMention(t, ref[0], "file.sock leaves ssh.socket on port (sensitive), not the host's port 22")
	if strings.Contains(ref[0].Message, "50022") {
		t.Errorf("the sensitive port is shown: %s", ref[0].Message)
	}
}

func TestListenStreamPort(t *testing.T) {
	for v, want := range map[string]string{
		"22": "22", "0.0.0.0:50022": "50022", "[::]:50022": "50022", "[fe80::1%eth0]:22": "22",
		"/run/sshd.sock": "", "@abstract": "", "vsock:2:22": "", "[::1]": "", "": "",
	} {
		if got := listenStreamPort(v); got != want {
			t.Errorf("%q: %q, want %q", v, got, want)
		}
	}
}
