package preflight

import (
	"strings"
	"testing"
)

// movedHost is a host whose SSH was moved to 2222 before: hako connects
// there, with no bootstrap block.
const movedHost = `host "pi" {
  address = "192.0.2.10"
  port    = 2222
  user    = "alice"
  become  = true
}
`

func TestSSHDPort(t *testing.T) {
	sshd := hostFile("/etc/ssh/sshd_config", debianSSHD)
	facts := []fact{login("alice"), userLine("alice", "alice,sudo"), sshd}
	for _, c := range []struct{ name, conf, refused string }{
		{"the host's port", "Port 2222\n", ""},
		{"another port", "Port 50022\n", "sshd-port file.sshd"},
		{"the host's port among others", "Port 50022\nPort 2222\n", ""},
		// A fresh card's sshd stays on 22: the move to 2222 cannot work.
		{"no Port during a move", "PermitRootLogin no\n", "sshd-port file.sshd"},
	} {
		h := hostOf(t, aliceHost+sshdTask("sshd", "/etc/ssh/sshd_config.d/10-hako.conf", c.conf))
		ref, _ := run(t, h, nil, facts...)
		wantFindings(t, c.name, ref, c.refused)
	}
	h := hostOf(t, aliceHost+sshdTask("sshd", "/etc/ssh/sshd_config.d/10-hako.conf", "Port 50022\n"))
	ref, _ := run(t, h, nil, facts...)
	mustMention(t, ref[0], "file.sshd leaves sshd on port 50022, not the host's port 2222: hako would be locked out",
		"Keep 2222; to move SSH, change the host's port and add bootstrap { port = 2222 }")
	ref, warn := run(t, h, map[string]bool{CheckSSHDPort: true}, facts...)
	if len(ref) != 0 || len(warn) == 0 {
		t.Errorf("-allow-risky sshd-port: refusals %v warnings %v", ref, warn)
	}
}

// The ports sshd listens on, from the configuration the plan leaves:
// Port and ListenAddress lines that apply to every connection, sshd's
// default 22 without a Port.
func TestSSHDPortEffective(t *testing.T) {
	const dropIn = "/etc/ssh/sshd_config.d/10-hako.conf"
	for _, c := range []struct {
		name, host, tasks string
		facts             []fact // beyond Debian's sshd_config
		refused           string
	}{
		// Match all: the lines after it are global again.
		{"Port after Match all", piHost, sshdTask("sshd", dropIn,
			"Match User git\n  ForceCommand /usr/bin/git-shell\nMatch all\nPort 50022\n"), nil, "sshd-port file.sshd"},
		{"MATCH All with a comment", piHost, sshdTask("sshd", dropIn,
			"Match User git\n  X11Forwarding no\nMATCH All   # back to global  \nPort 50022\n"), nil, "sshd-port file.sshd"},
		{"Match all then the host's port", movedHost, sshdTask("sshd", dropIn,
			"Match User git\n  X11Forwarding no\nMatch all\nPort 2222\n"), nil, ""},
		{"Port in a Match User block", piHost, sshdTask("sshd", dropIn, "Match User git\n  Port 50022\n"), nil, ""},
		{"Match all with other criteria is not all", piHost, sshdTask("sshd", dropIn,
			"Match User git\nMatch all User bob\nPort 50022\n"), nil, ""},
		{"Include after Match all", piHost, sshdTask("sshd", "/etc/ssh/extra.d/port.conf", "Port 50022\n"),
			[]fact{hostFile("/etc/ssh/sshd_config", debianSSHD+"Match User git\n  X11Forwarding no\nMatch all\nInclude /etc/ssh/extra.d/*.conf\n")},
			"sshd-port file.sshd"},
		{"a drop-in's Match block ends with it", piHost,
			sshdTask("sshd", "/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPort 50022\n"),
			[]fact{hostFile("/etc/ssh/sshd_config.d/10-git.conf", "Match User git\n  X11Forwarding no\n")}, "sshd-port file.sshd"},

		// ListenAddress with a port overrides Port for its address.
		{"ListenAddress with a port", piHost, sshdTask("sshd", dropIn, "ListenAddress 0.0.0.0:50022\n"), nil, "sshd-port file.sshd"},
		{"Port 22 and ListenAddress with another port", piHost, sshdTask("sshd", dropIn,
			"Port 22\nListenAddress 0.0.0.0:50022\n"), nil, "sshd-port file.sshd"},
		{"ListenAddress [v6]:port", piHost, sshdTask("sshd", dropIn, "ListenAddress [::]:50022\n"), nil, "sshd-port file.sshd"},
		{"Port 22 and ListenAddress without a port", piHost, sshdTask("sshd", dropIn, "Port 22\nListenAddress 0.0.0.0\n"), nil, ""},
		{"bare IPv6 ListenAddress", piHost, sshdTask("sshd", dropIn, "ListenAddress fe80::1\n"), nil, ""},
		{"bare IPv6 ListenAddress, Port elsewhere", piHost, sshdTask("sshd", dropIn, "Port 50022\nListenAddress fe80::1\n"), nil, "sshd-port file.sshd"},
		{"one ListenAddress on the host's port", piHost, sshdTask("sshd", dropIn,
			"ListenAddress 0.0.0.0:50022\nListenAddress [::]:22\n"), nil, ""},
		{"ListenAddress takes the host's Port", movedHost, sshdTask("sshd", dropIn, "ListenAddress 192.168.0.64\n"),
			[]fact{hostFile("/etc/ssh/sshd_config.d/05-port.conf", "Port 2222\n")}, ""},
		{"ListenAddress on the host's port", movedHost, sshdTask("sshd", dropIn, "ListenAddress 192.168.0.64:2222\n"),
			[]fact{hostFile("/etc/ssh/sshd_config.d/05-port.conf", "Port 2222\n")}, ""},
		{"Port with leading zeros", movedHost, sshdTask("sshd", dropIn, "Port 02222\n"), nil, ""},
		{"Port ssh", piHost, sshdTask("sshd", dropIn, "Port ssh\n"), nil, ""},

		// Without a Port left, sshd falls back to 22.
		{"the plan drops the host's Port line", movedHost, sshdTask("sshd", dropIn, "PermitRootLogin no\n"),
			[]fact{hostFile(dropIn, "Port 2222\n")}, "sshd-port file.sshd"},
		{"another file keeps the host's Port", movedHost, sshdTask("sshd", dropIn, "PermitRootLogin no\n"),
			[]fact{hostFile("/etc/ssh/sshd_config.d/05-port.conf", "Port 2222\n")}, ""},
		{"the plan writes sshd_config without its Port", movedHost, sshdTask("sshd", "/etc/ssh/sshd_config", debianSSHD),
			[]fact{hostFile("/etc/ssh/sshd_config", "Port 2222\n"+debianSSHD)}, "sshd-port file.sshd"},
		{"no sshd file in the plan", movedHost, sshdTask("motd", "/etc/motd", "hello\n"), nil, ""},
		{"a file sshd does not read", movedHost, sshdTask("sshd", dropIn+".bak", "PermitRootLogin no\n"),
			[]fact{hostFile(dropIn, "Port 2222\n")}, ""},
		// The host's configuration does not say how hako reaches it (a
		// port forward to 22, sshd -p): a plan keeping its ports is let
		// through, one changing them is not.
		{"port forward, ports kept", movedHost, sshdTask("sshd", dropIn, "PermitRootLogin no\n"), nil, ""},
		{"port forward, ports changed", movedHost, sshdTask("sshd", dropIn, "Port 50022\n"), nil, "sshd-port file.sshd"},
	} {
		h := hostOf(t, c.host+c.tasks)
		facts := append([]fact{login("pi"), userLine("pi", "pi,sudo"), userLine("alice", "alice,sudo"), hostFile("/etc/ssh/sshd_config", debianSSHD)}, c.facts...)
		ref, _ := run(t, h, nil, facts...)
		wantFindings(t, c.name, ref, c.refused)
	}
}

// The refusals say where the ports come from, unless from the task's own
// file.
func TestSSHDPortMessages(t *testing.T) {
	const dropIn = "/etc/ssh/sshd_config.d/10-hako.conf"
	facts := []fact{login("alice"), userLine("alice", "alice,sudo"), hostFile("/etc/ssh/sshd_config", debianSSHD)}
	h := hostOf(t, movedHost+sshdTask("sshd", dropIn, "PermitRootLogin no\n"))
	ref, _ := run(t, h, nil, append(facts, hostFile(dropIn, "Port 2222\n"))...)
	wantFindings(t, "dropped Port", ref, "sshd-port file.sshd")
	mustMention(t, ref[0], "file.sshd leaves sshd on port 22 (no Port line: sshd's default), not the host's port 2222")

	h = hostOf(t, piHost+sshdTask("sshd", dropIn, "Port 22\nListenAddress 0.0.0.0:50022\nListenAddress [::]:50023\n"))
	ref, _ = run(t, h, nil, facts...)
	wantFindings(t, "ListenAddress", ref, "sshd-port file.sshd")
	mustMention(t, ref[0], "file.sshd leaves sshd on ports 50022, 50023, not the host's port 22")

	// The plan's sshd_config drops the host's Port 2222: the drop-in on
	// the host decides.
	h = hostOf(t, movedHost+sshdTask("sshd", "/etc/ssh/sshd_config", debianSSHD))
	ref, _ = run(t, h, nil, login("alice"), userLine("alice", "alice,sudo"), hostFile("/etc/ssh/sshd_config", debianSSHD+"Port 2222\n"), hostFile(dropIn, "Port 50022\n"))
	wantFindings(t, "the host's drop-in", ref, "sshd-port file.sshd")
	mustMention(t, ref[0], "file.sshd leaves sshd on port 50022 (from "+dropIn+"), not the host's port 2222")
}

// A port that comes from sensitive content is not quoted in the refusal.
func TestSSHDPortSensitive(t *testing.T) {
	facts := []fact{login("alice"), userLine("alice", "alice,sudo"), hostFile("/etc/ssh/sshd_config", debianSSHD)}
	for _, line := range []string{"Port ${var.port}", "ListenAddress 0.0.0.0:${var.port}"} {
		h := hostOf(t, aliceHost+`
variable "port" {
  type      = string
  default   = "50022"
  sensitive = true
}

task "file" "sshd" {
  path    = "/etc/ssh/sshd_config.d/10-hako.conf"
  content = "`+line+`\n"
}
`)
		ref, _ := run(t, h, nil, facts...)
		wantFindings(t, line, ref, "sshd-port file.sshd")
		mustMention(t, ref[0], "file.sshd leaves sshd on port (sensitive), not the host's port 2222")
		if strings.Contains(ref[0].Message, "50022") {
			t.Errorf("the sensitive port is shown: %s", ref[0].Message)
		}
	}
}

func TestListenAddressPort(t *testing.T) {
	for arg, want := range map[string]string{
		"0.0.0.0:50022": "50022", "[::]:50022": "50022", "[fe80::1%eth0]:22": "22", "host.lan:2222": "2222",
		"0.0.0.0": "", "::": "", "fe80::1": "", "[::1]": "", "host.lan": "", "0.0.0.0:022": "22",
	} {
		if got := listenAddressPort(arg); got != want {
			t.Errorf("%q: %q, want %q", arg, got, want)
		}
	}
}
