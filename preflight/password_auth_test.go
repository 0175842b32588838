package preflight

import (
	"fmt"
	"testing"
)

// sshdTask is a file task writing content to path.
func sshdTask(name, path, content string) string {
	return fmt.Sprintf("task \"file\" %q {\n  path    = %q\n  content = %q\n}\n", name, path, content)
}

const hardening = "/etc/ssh/sshd_config.d/10-hako.conf"

func TestPasswordAuthWithoutKey(t *testing.T) {
	h := hostOf(t, aliceHost+sshdTask("sshd", hardening, "Port 2222\nPermitRootLogin no\nPasswordAuthentication no\n"))
	ref, warn := run(t, h, nil, login("pi"), hostFile("/etc/ssh/sshd_config", debianSSHD), absent("alice"), userLine("pi", "pi,sudo"))
	wantFindings(t, "refusals", ref, "password-auth-without-key file.sshd")
	mustMention(t, ref[0], `file.sshd sets "PasswordAuthentication no", but hako's login user alice has no key (no such user on the host): nobody could log in`,
		"Give it a key in a user task")
	if e := ref[0].Err().Error(); e != "refused: "+ref[0].Message+" (check password-auth-without-key; -allow-risky password-auth-without-key overrides it)" {
		t.Errorf("error %q", e)
	}
	wantFindings(t, "warnings", warn, "login-user-missing")

	// Overridden, it is a warning that says so.
	ref, warn = run(t, h, map[string]bool{CheckPasswordAuth: true}, login("pi"), hostFile("/etc/ssh/sshd_config", debianSSHD), absent("alice"))
	wantFindings(t, "overridden refusals", ref, "")
	wantFindings(t, "overridden warnings", warn, "password-auth-without-key file.sshd; login-user-missing")
	mustMention(t, warn[0], "overridden by -allow-risky password-auth-without-key: file.sshd sets")
}

func TestPasswordAuthKeys(t *testing.T) {
	key := pubKey(t)
	sshd := sshdTask("sshd", hardening, "Port 2222\nPasswordAuthentication no\n")
	base := []fact{login("pi"), hostFile("/etc/ssh/sshd_config", debianSSHD)}
	for _, c := range []struct {
		name, tasks string
		facts       []fact
		want        string // what the refusal says; "" none
	}{
		{"a user task gives the key", `task "user" "admin" {
  name            = "alice"
  authorized_keys = [` + fmt.Sprintf("%q", key) + `]
}
`, []fact{absent("alice")}, ""},
		{"a key on the host", "", []fact{userLine("alice", "alice"), keysLine("alice", "# mine\n"+key+"\n")}, ""},
		{"an empty authorized_keys", "", []fact{userLine("alice", "alice"), keysLine("alice", "")}, "(its authorized_keys holds no key)"},
		{"only junk in it", "", []fact{userLine("alice", "alice"), keysLine("alice", "# old\nssh-rsa notbase64\n")}, "holds no key"},
		{"no authorized_keys", "", []fact{userLine("alice", "alice")}, "(no authorized_keys file on the host)"},
		{"unreadable", "", []fact{userLine("alice", "alice"), keysUnreadable("alice")}, "(its authorized_keys is unreadable without become)"},
		{"exclusive_keys removes the host's", `task "user" "admin" {
  name           = "alice"
  exclusive_keys = true
}
`, []fact{userLine("alice", "alice"), keysLine("alice", key+"\n")}, "(user.admin's exclusive_keys drops its keys)"},
	} {
		h := hostOf(t, aliceHost+c.tasks+sshd)
		ref, _ := run(t, h, nil, append(base, c.facts...)...)
		ref = only(ref, CheckPasswordAuth)
		switch {
		case c.want == "" && len(ref) > 0:
			t.Errorf("%s: refused: %v", c.name, ref)
		case c.want != "" && len(ref) != 1:
			t.Errorf("%s: refusals %v", c.name, ref)
		case c.want != "":
			mustMention(t, ref[0], c.want)
		}
	}
}

// sshd reads sshd_config with its Include in place, the drop-ins in
// lexical order, and keeps the first value: only a plan that makes "no"
// win is refused.
func TestPasswordAuthFirstValueWins(t *testing.T) {
	noKey := []fact{login("pi"), absent("alice")}
	for _, c := range []struct {
		name, path, content string
		host                []fact
		refused             bool
	}{
		{"drop-in", hardening, "PasswordAuthentication no\n", nil, true},
		{"keyword case and =", hardening, "passwordauthentication=No\n", nil, true},
		{"spaces around =", hardening, "PASSWORDAUTHENTICATION = no # keys only\n", nil, true},
		{"an earlier drop-in says yes", hardening, "PasswordAuthentication no\n",
			[]fact{hostFile("/etc/ssh/sshd_config.d/05-pi.conf", "PasswordAuthentication yes\n")}, false},
		{"a later drop-in says yes", hardening, "PasswordAuthentication no\n",
			[]fact{hostFile("/etc/ssh/sshd_config.d/50-cloud.conf", "PasswordAuthentication yes\n")}, true},
		{"yes", hardening, "PasswordAuthentication yes\n", nil, false},
		{"in a Match block", hardening, "Match User bob\n  PasswordAuthentication no\n", nil, false},
		// After "Match all" a line applies to every connection again, and
		// its value wins over the global one.
		{"after Match all", hardening, "Match User git\n  X11Forwarding no\nMatch all\nPasswordAuthentication no\n", nil, true},
		{"match ALL with a comment", hardening, "match ALL # again\nPasswordAuthentication no\n", nil, true},
		{"Match all over an earlier yes", hardening, "Match all\nPasswordAuthentication no\n",
			[]fact{hostFile("/etc/ssh/sshd_config.d/05-pi.conf", "PasswordAuthentication yes\n")}, true},
		{"Match all says yes", hardening, "PasswordAuthentication no\nMatch all\nPasswordAuthentication yes\n", nil, false},
		{"a Match block after Match all", hardening, "Match all\nMatch User bob\n  PasswordAuthentication no\n", nil, false},
		{"Match all in a file included from a Match block", "/etc/ssh/git.d/a.conf", "Match all\nPasswordAuthentication no\n",
			[]fact{hostFile("/etc/ssh/sshd_config", debianSSHD+"Match User git\n  Include /etc/ssh/git.d/*.conf\n")}, false},
		{"commented out", hardening, "#PasswordAuthentication no\n", nil, false},
		{"not a .conf, not read", "/etc/ssh/sshd_config.d/10-hako.conf.bak", "PasswordAuthentication no\n", nil, false},
		{"not sshd's", "/etc/motd", "PasswordAuthentication no\n", nil, false},
		{"sshd_config itself", "/etc/ssh/sshd_config", "Port 2222\nPasswordAuthentication no\n", nil, true},
		{"sshd_config after its Include", "/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n",
			[]fact{hostFile("/etc/ssh/sshd_config.d/01-x.conf", "PasswordAuthentication yes\n")}, false},
		{"relative Include", "/etc/ssh/extra/a.conf", "PasswordAuthentication no\n",
			[]fact{hostFile("/etc/ssh/sshd_config", "Include extra/*.conf\nPasswordAuthentication yes\n")}, true},
		{"the host's own no", "/etc/ssh/sshd_config.d/20-x.conf", "Port 2222\n",
			[]fact{hostFile("/etc/ssh/sshd_config.d/10-pi.conf", "PasswordAuthentication no\n")}, false},
	} {
		h := hostOf(t, aliceHost+sshdTask("sshd", c.path, c.content))
		facts := append(append([]fact{hostFile("/etc/ssh/sshd_config", debianSSHD)}, noKey...), c.host...)
		ref, _ := run(t, h, nil, facts...)
		ref = only(ref, CheckPasswordAuth) // aliceHost moves SSH: sshd-port has its say too
		if got := len(ref) > 0; got != c.refused {
			t.Errorf("%s: refused %v, want %v: %v", c.name, got, c.refused, ref)
		}
	}
}

// The host refuses passwords already (a drop-in the plan does not write);
// a user task that takes the login user's last key is refused; one that
// leaves a key, or no user task (the host's own state), is not.
func TestPasswordAuthOnTheHostAndAUserTask(t *testing.T) {
	key := pubKey(t)
	facts := []fact{login("alice"), hostFile("/etc/ssh/sshd_config", debianSSHD),
		hostFile("/etc/ssh/sshd_config.d/50-cloud-init.conf", "Port 2222\nPasswordAuthentication no\n"),
		userLine("alice", "alice,sudo"), keysLine("alice", key+"\n")}
	for _, c := range []struct{ name, tasks, want string }{
		{"no user task", "", ""},
		{"exclusive_keys and none", `task "user" "alice" {
  name           = "alice"
  exclusive_keys = true
}
`, "user.alice's exclusive_keys drops its keys, and the host's sshd refuses passwords"},
		{"exclusive_keys with a key", `task "user" "alice" {
  name            = "alice"
  exclusive_keys  = true
  authorized_keys = [` + fmt.Sprintf("%q", key) + `]
}
`, ""},
	} {
		h := hostOf(t, aliceHost+c.tasks)
		ref, _ := run(t, h, nil, facts...)
		ref = only(ref, CheckPasswordAuth)
		switch {
		case c.want == "" && len(ref) > 0:
			t.Errorf("%s: refused: %v", c.name, ref)
		case c.want != "" && len(ref) != 1:
			t.Errorf("%s: refusals %v", c.name, ref)
		case c.want != "":
			mustMention(t, ref[0], c.want, "(/etc/ssh/sshd_config.d/50-cloud-init.conf): hako could not log in as alice. Leave alice a key in the user task")
		}
	}
}
