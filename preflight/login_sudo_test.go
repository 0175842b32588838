package preflight

import (
	"strings"
	"testing"
)

func TestLoginUserSudo(t *testing.T) {
	admin := func(attrs string) string { return "task \"user\" \"admin\" {\n  name = \"alice\"\n" + attrs + "}\n" }
	sudoers := hostFile("/etc/sudoers", "root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n")
	for _, c := range []struct {
		name, task string
		facts      []fact
		want       string // in the refusal; "" none
	}{
		{"sudo none, no group", admin("  sudo = \"none\"\n"), []fact{userLine("alice", "alice")}, `user.admin leaves alice, the user hako logs in as (the host's user), without passwordless sudo (sudo = "none")`},
		{"new user without sudo", admin("  sudo = \"none\"\n  groups = [\"adm\"]\n"), []fact{absent("alice")}, "no /etc/sudoers.d/hako-alice and no other NOPASSWD sudoers rule"},
		// Group sudo alone asks for a password; hako runs sudo -n.
		{"sudo none, in group sudo on the host", admin("  sudo = \"none\"\n"), []fact{userLine("alice", "alice,sudo")}, "without passwordless sudo"},
		{"sudo none, group sudo from the task", admin("  sudo = \"none\"\n  groups = [\"sudo\"]\n"), []fact{absent("alice")}, "without passwordless sudo"},
		{"sudo none, group sudo with NOPASSWD", admin("  sudo = \"none\"\n"),
			[]fact{userLine("alice", "alice,sudo"), hostFile("/etc/sudoers.d/010_sudo-nopasswd", "%sudo ALL=(ALL) NOPASSWD: ALL\n")}, ""},
		{"exclusive groups drop sudo", admin("  exclusive_groups = true\n  groups = [\"adm\"]\n"), []fact{userLine("alice", "alice,sudo,adm")},
			`exclusive_groups = true without "sudo" in groups`},
		{"exclusive groups, hako's rule on the host", admin("  exclusive_groups = true\n"),
			[]fact{userLine("alice", "alice,sudo"), hostFile("/etc/sudoers.d/hako-alice", "alice ALL=(ALL) NOPASSWD: ALL\n")}, ""},
		{"exclusive groups, nopasswd", admin("  exclusive_groups = true\n  sudo = \"nopasswd\"\n"), []fact{userLine("alice", "alice,sudo")}, ""},
		{"both", admin("  exclusive_groups = true\n  sudo = \"none\"\n"),
			[]fact{userLine("alice", "alice,sudo"), hostFile("/etc/sudoers.d/hako-alice", "alice ALL=(ALL) NOPASSWD: ALL\n")},
			`(sudo = "none", exclusive_groups = true without "sudo" in groups)`},
		{"another rule names her", admin("  sudo = \"none\"\n"),
			[]fact{userLine("alice", "alice"), hostFile("/etc/sudoers.d/010_alice-nopasswd", "alice ALL=(ALL) NOPASSWD: ALL\n")}, ""},
		{"a rule sudo skips (dot)", admin("  sudo = \"none\"\n"),
			[]fact{userLine("alice", "alice"), hostFile("/etc/sudoers.d/010_alice.bak", "alice ALL=(ALL) NOPASSWD: ALL\n")}, "without passwordless sudo"},
		{"a rule for another group of hers", admin("  sudo = \"none\"\n  groups = [\"wheel\"]\n"),
			[]fact{userLine("alice", "alice"), hostFile("/etc/sudoers.d/wheel", "# wheel\n%wheel ALL=(ALL) NOPASSWD: ALL\n")}, ""},
		{"a rule for her group that asks for a password", admin("  sudo = \"none\"\n  groups = [\"wheel\"]\n"),
			[]fact{userLine("alice", "alice"), hostFile("/etc/sudoers.d/wheel", "%wheel ALL=(ALL) ALL\n")}, "without passwordless sudo"},
		{"removing her", "task \"user\" \"admin\" {\n  name = \"alice\"\n  state = \"absent\"\n}\n", []fact{userLine("alice", "alice,sudo")},
			`user.admin would remove the user "alice", the user hako logs in as (the host's user)`},
		{"another user", "task \"user\" \"bob\" {\n  name = \"bob\"\n  sudo = \"none\"\n}\n", []fact{userLine("alice", "alice")}, ""},
		{"the bootstrap user", "task \"user\" \"pi\" {\n  name = \"pi\"\n  exclusive_groups = true\n}\n", []fact{userLine("alice", "alice,sudo"), userLine("pi", "pi,adm,sudo")},
			`user.pi leaves pi, the user hako is logged in as now (the bootstrap user), without passwordless sudo`},
	} {
		h := hostOf(t, aliceHost+c.task)
		ref, _ := run(t, h, nil, append([]fact{login("pi"), sudoers}, c.facts...)...)
		switch {
		case c.want == "" && len(ref) > 0:
			t.Errorf("%s: refused: %v", c.name, ref)
		case c.want != "" && len(ref) != 1:
			t.Errorf("%s: refusals %v", c.name, ref)
		case c.want != "":
			if ref[0].Check != CheckLoginUserSudo {
				t.Errorf("%s: check %s", c.name, ref[0].Check)
			}
			mustMention(t, ref[0], c.want)
		}
	}
}

// Removing the user hako is logged in as: the user task refuses it
// itself, under the same check; Run reports it once, and -allow-risky
// makes it a warning.
func TestLoginUserRemovalOnce(t *testing.T) {
	h := hostOf(t, piHost+"task \"user\" \"pi\" {\n  name = \"pi\"\n  state = \"absent\"\n}\n")
	ref, warn := run(t, h, nil, login("pi"), userLine("pi", "pi,sudo"))
	wantFindings(t, "refusals", ref, "login-user-sudo user.pi")
	wantFindings(t, "warnings", warn, "")
	if !strings.Contains(ref[0].Message, `whom hako is logged in as on this host`) {
		t.Errorf("not the task's own refusal: %s", ref[0].Message)
	}
	ref, warn = run(t, h, map[string]bool{CheckLoginUserSudo: true}, login("pi"), userLine("pi", "pi,sudo"))
	wantFindings(t, "refusals", ref, "")
	wantFindings(t, "warnings", warn, "login-user-sudo user.pi")
	mustMention(t, warn[0], "overridden by -allow-risky login-user-sudo")
}

func TestLoginUserRootIsNotChecked(t *testing.T) {
	h := hostOf(t, strings.Replace(piHost, `"pi"`+"\n  become", `"root"`+"\n  become", 1)+
		"task \"user\" \"root\" {\n  name = \"root\"\n  exclusive_groups = true\n}\n")
	if h.Conn.User != "root" {
		t.Fatalf("user %q", h.Conn.User)
	}
	ref, _ := run(t, h, nil, login("root"), userLine("root", "root"))
	wantFindings(t, "refusals", ref, "")
}
