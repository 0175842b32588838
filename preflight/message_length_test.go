package preflight

import (
	"testing"

	"github.com/hako-dev/hako/probe"
)

// The refusals stay under 300 characters as the user reads them (the
// error of the refused task, with the check's name and the -allow-risky
// override appended, or the warning an override turns it into), with
// long but realistic names: a task file.sshd_hardening, the user hanako,
// sshd moved to 50022, ssh.socket listening on two addresses.
func TestRefusalMessagesAreShort(t *testing.T) {
	const hanakoHost = `host "pi" {
  address = "192.168.178.20"
  port    = 50022
  user    = "hanako"
  become  = true
  bootstrap {
    port = 22
    user = "pi"
  }
}
`
	const dropIn = "/etc/ssh/sshd_config.d/10-hako.conf"
	hardening := func(content string) string { return sshdTask("sshd_hardening", dropIn, content) }
	userTask := func(attrs string) string {
		return "task \"user\" \"hanako_account\" {\n  name = \"hanako\"\n" + attrs + "}\n"
	}
	sshd := hostFile("/etc/ssh/sshd_config", debianSSHD)
	hostNoPasswords := hostFile("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication no\n")
	base := []fact{login("pi"), userLine("pi", "pi,sudo")}
	socket := func(h *hostFacts) {
		h.units["ssh.socket"] = probe.UnitInfo{Init: "systemd", Enabled: "enabled", Active: "active",
			Listen: []string{"192.168.178.20:22", "[fd00:1234:5678::20]:22"}}
	}
	for _, c := range []struct {
		name, tasks, check string
		facts              []fact
	}{
		{"password-auth: the plan's file, no user", hardening("Port 50022\nPasswordAuthentication no\n"), CheckPasswordAuth,
			[]fact{sshd, absent("hanako")}},
		{"password-auth: the plan's file, unreadable keys", hardening("Port 50022\nPasswordAuthentication no\n"), CheckPasswordAuth,
			[]fact{sshd, userLine("hanako", "hanako,sudo"), keysUnreadable("hanako")}},
		{"password-auth: the plan's file, no key file", hardening("Port 50022\nPasswordAuthentication no\n"), CheckPasswordAuth,
			[]fact{sshd, userLine("hanako", "hanako,sudo")}},
		{"password-auth: the plan's file, no key in it", hardening("Port 50022\nPasswordAuthentication no\n"), CheckPasswordAuth,
			[]fact{sshd, userLine("hanako", "hanako,sudo"), keysLine("hanako", "")}},
		{"password-auth: a user task drops the keys", hardening("Port 50022\n") + userTask("  exclusive_keys = true\n  sudo = \"nopasswd\"\n"), CheckPasswordAuth,
			[]fact{sshd, hostNoPasswords, userLine("hanako", "hanako,sudo"), keysLine("hanako", pubKey(t)+"\n")}},
		{"password-auth: a user task removes the user", hardening("Port 50022\n") + userTask("  state = \"absent\"\n"), CheckPasswordAuth,
			[]fact{sshd, hostNoPasswords, userLine("hanako", "hanako,sudo"), keysLine("hanako", pubKey(t)+"\n")}},
		{"password-auth: the plan's file, a user task drops the keys", hardening("Port 50022\nPasswordAuthentication no\n") + userTask("  exclusive_keys = true\n"), CheckPasswordAuth,
			[]fact{sshd, userLine("hanako", "hanako,sudo"), keysLine("hanako", pubKey(t)+"\n")}},
		{"password-auth: the plan's file, a user task removes the user", hardening("Port 50022\nPasswordAuthentication no\n") + userTask("  state = \"absent\"\n"), CheckPasswordAuth,
			[]fact{sshd, userLine("hanako", "hanako,sudo")}},
		{"socket-activated-port: ListenAddress", hardening("ListenAddress 192.168.178.20:50022\n"), CheckSocketPort,
			[]fact{sshd, socket}},
		{"sshd-port: ssh.socket", sshdTask("ssh_socket_port", "/etc/systemd/system/ssh.socket.d/10-hako-port.conf",
			"[Socket]\nListenStream=\nListenStream=192.168.178.20:50023\nListenStream=[fd00:1234:5678::20]:50024\n"), CheckSSHDPort,
			[]fact{sshd, socket}},
		{"sshd-port: ssh.socket, Debian's", sshdTask("ssh_socket_port", "/etc/systemd/system/ssh.socket.d/10-hako-port.conf", "[Socket]\nBacklog=64\n"), CheckSSHDPort,
			[]fact{sshd, socket, hostFile("/etc/systemd/system/ssh.socket.d/10-hako-port.conf", "[Socket]\nListenStream=\nListenStream=50022\n")}},
		{"sshd-port: sshd", hardening("Port 50023\nPort 50024\n"), CheckSSHDPort, []fact{sshd}},
		{"sshd-port: sshd, the host's file", sshdTask("sshd_config", "/etc/ssh/sshd_config", debianSSHD), CheckSSHDPort,
			[]fact{hostFile("/etc/ssh/sshd_config", debianSSHD+"Port 50022\n"), hostFile("/etc/ssh/sshd_config.d/50-cloud-init.conf", "Port 50023\nPort 50024\n")}},
		{"sshd-port: sshd's default", hardening("PermitRootLogin no\n"), CheckSSHDPort, []fact{sshd}},
		{"sshd-login-user: AllowUsers", hardening("Port 50022\nAllowUsers pi someoneelse anotherone yetanotheruser and-one-more-user\n"), CheckSSHDLoginUser,
			[]fact{sshd, userLine("hanako", "hanako,sudo")}},
		{"sshd-login-user: AuthenticationMethods", hardening("Port 50022\nAuthenticationMethods publickey,keyboard-interactive:pam publickey,password\n"), CheckSSHDLoginUser,
			[]fact{sshd, userLine("hanako", "hanako,sudo")}},
		{"sshd-login-user: a user task's groups", hardening("Port 50022\n") + userTask("  groups = [\"sudo\"]\n  exclusive_groups = true\n  sudo = \"nopasswd\"\n"), CheckSSHDLoginUser,
			[]fact{sshd, userLine("hanako", "hanako,sudo,ssh-users"), hostFile("/etc/ssh/sshd_config.d/50-cloud-init.conf", "AllowGroups ssh-users\n")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := hostOf(t, hanakoHost+c.tasks)
			ref, _ := run(t, h, nil, append(append([]fact{}, base...), c.facts...)...)
			ref = only(ref, c.check)
			if len(ref) != 1 {
				t.Fatalf("refusals: %v", ref)
			}
			over := ref[0]
			over.Overridden = true
			for _, msg := range []string{ref[0].Err().Error(), over.String()} {
				t.Logf("%d: %s", len(msg), msg)
				if len(msg) > 300 {
					t.Errorf("%d characters: %s", len(msg), msg)
				}
			}
		})
	}
}

// The NetworkManager warning, as plan prints it, stays under 300
// characters with a long task name and NetworkManager both running and
// managing two interfaces (the longest reason), and still says what to use.
func TestNetworkManagerWarningIsShort(t *testing.T) {
	h := hostOf(t, piHost+sshdTask("dhcpcd_static_address", "/etc/dhcpcd.conf", "interface eth0\nstatic ip_address=192.168.178.20/24\ninterface wlan0\n"))
	_, warn := run(t, h, nil, append(units("disabled", "inactive", "active"),
		login("pi"), userLine("pi", "pi,sudo"), device("eth0", "connected"), device("wlan0", "connected"))...)
	if len(warn) != 1 {
		t.Fatalf("warnings: %v", warn)
	}
	msg := "warning: " + warn[0].String()
	t.Logf("%d: %s", len(msg), msg)
	if len(msg) > 300 {
		t.Errorf("%d characters: %s", len(msg), msg)
	}
	mustMention(t, warn[0], "NetworkManager is running and it manages eth0, wlan0", "so the file does nothing", "nmcli", "/etc/NetworkManager/system-connections/")
}
