package lint

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
		units          []string
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
		ref, warn := run(t, h, nil, append([]string{"L pi", userLine("pi", "pi,sudo"), sshd}, c.units...)...)
		wantFindings(t, c.name+": refusals", ref, c.refused)
		wantFindings(t, c.name+": warnings", warn, c.warns)
	}

	h := hostOf(t, piHost+port)
	facts := append([]string{"L pi", userLine("pi", "pi,sudo"), sshd}, units("enabled", "active", "inactive")...)
	ref, _ := run(t, h, nil, facts...)
	mustMention(t, ref[0], `file.port sets "Port 2222" in /etc/ssh/sshd_config.d/20-port.conf, but sshd is socket-activated on this host (ssh.socket is enabled and active, listening on [::]:22)`,
		"ListenStream=PORT")
	if e := ref[0].Err().Error(); !strings.HasSuffix(e, "(check socket-activated-port; -allow-risky socket-activated-port overrides it)") {
		t.Errorf("error %q", e)
	}
	ref, warn := run(t, h, map[string]bool{CheckSocketPort: true}, facts...)
	wantFindings(t, "overridden", ref, "")
	wantFindings(t, "overridden: warnings", warn, "socket-activated-port file.port")
	mustMention(t, warn[0], "overridden by -allow-risky socket-activated-port: file.port sets")

	h = hostOf(t, piHost)
	_, warn = run(t, h, nil, append([]string{"L pi", userLine("pi", "pi,sudo"), sshd}, units("enabled", "active", "inactive")...)...)
	mustMention(t, warn[0], "sshd is socket-activated on this host (ssh.socket is enabled and active, listening on [::]:22): its port is ssh.socket's ListenStream", "(check ssh-socket)")
}
