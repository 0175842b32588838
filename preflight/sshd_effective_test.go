package preflight

import (
	"os"
	"strings"
	"testing"
)

// The output of sshd -T -C on a Debian 12 test host (OpenSSH 9.2), with
// a drop-in "DenyUsers pi" and without it; lines edited into the default
// one stand for other drop-ins.
func TestSSHDEffectiveRefusal(t *testing.T) {
	base, err := os.ReadFile("testdata/sshd-T-bookworm.txt")
	if err != nil {
		t.Fatal(err)
	}
	deny, err := os.ReadFile("testdata/sshd-T-bookworm-denyusers.txt")
	if err != nil {
		t.Fatal(err)
	}
	pi := SSHDLogin{User: "pi", Groups: []string{"pi", "adm", "sudo", "users"}, Addr: "10.213.0.1", LAddr: "10.213.0.12", LPort: 22}
	with := func(line string) []byte { return []byte(string(base) + line + "\n") }
	replace := func(old, new string) []byte {
		if !strings.Contains(string(base), old+"\n") {
			t.Fatalf("fixture has no line %q", old)
		}
		return []byte(strings.Replace(string(base), old+"\n", new+"\n", 1))
	}
	root := pi
	root.User, root.Groups = "root", []string{"root"}
	sockets := pi
	sockets.Socket = true
	v6 := pi
	v6.Addr, v6.LAddr = "fd00::1", "fd00::12"
	hidden := pi
	hidden.Sensitive = true
	hiddenPort := hidden
	hiddenPort.LPort = 2222
	for _, c := range []struct {
		name string
		out  []byte
		l    SSHDLogin
		want string // "" lets the login in
		// check: the plan-time check that covers want; none for sshd on
		// hako's port but other addresses (sshd-port judges ports only).
		check string
	}{
		{"default", base, pi, "", ""},
		{"denyusers", deny, pi, "denyusers pi (lists pi)", CheckSSHDLoginUser},
		{"denyusers sensitive", deny, hidden, "denyusers (sensitive; lists pi)", CheckSSHDLoginUser},
		{"denyusers pattern", with("denyusers p?"), pi, "denyusers p? (lists pi)", CheckSSHDLoginUser},
		{"denyusers other", with("denyusers hanako"), pi, "", ""},
		{"denyusers from elsewhere", with("denyusers pi@192.0.2.0/24"), pi, "", ""},
		{"denyusers from here", with("denyusers pi@10.213.0.0/16"), pi, "denyusers pi@10.213.0.0/16 (lists pi)", CheckSSHDLoginUser},
		{"allowusers without pi", with("allowusers hanako"), pi, "allowusers hanako (leaves out pi)", CheckSSHDLoginUser},
		{"allowusers with pi", with("allowusers hanako\nallowusers pi"), pi, "", ""},
		{"denygroups", with("denygroups sudo"), pi, "denygroups sudo (names a group of pi's)", CheckSSHDLoginUser},
		{"allowgroups without", with("allowgroups wheel"), pi, "allowgroups wheel (names no group of pi's)", CheckSSHDLoginUser},
		{"allowgroups with", with("allowgroups wheel\nallowgroups adm"), pi, "", ""},
		{"pubkey off", replace("pubkeyauthentication yes", "pubkeyauthentication no"), pi, "pubkeyauthentication no (turns off key logins)", CheckSSHDLoginUser},
		{"methods key and password", replace("authenticationmethods any", "authenticationmethods publickey,password"), pi,
			"authenticationmethods publickey,password (asks more than a key in each list)", CheckSSHDLoginUser},
		{"methods key or more", replace("authenticationmethods any", "authenticationmethods publickey,password publickey"), pi, "", ""},
		{"root default", base, root, "", ""},
		{"root refused", replace("permitrootlogin without-password", "permitrootlogin no"), root, "permitrootlogin no (refuses root's key login)", CheckSSHDLoginUser},
		{"root forced commands", replace("permitrootlogin without-password", "permitrootlogin forced-commands-only"), root,
			"permitrootlogin forced-commands-only (refuses root's key login)", CheckSSHDLoginUser},
		{"root rule, pi", replace("permitrootlogin without-password", "permitrootlogin no"), pi, "", ""},
		{"other port", []byte(strings.NewReplacer("port 22\n", "port 2200\n", "[::]:22\n", "[::]:2200\n", "0.0.0.0:22\n", "0.0.0.0:2200\n").Replace(string(base))), pi,
			"sshd would listen on [::]:2200, 0.0.0.0:2200, not on 10.213.0.12:22", CheckSSHDPort},
		{"other port, socket-activated", []byte(strings.NewReplacer("port 22\n", "port 2200\n", "[::]:22\n", "[::]:2200\n", "0.0.0.0:22\n", "0.0.0.0:2200\n").Replace(string(base))), sockets, "", ""},
		{"loopback only", []byte(strings.NewReplacer("listenaddress [::]:22\n", "", "0.0.0.0:22\n", "127.0.0.1:22\n").Replace(string(base))), pi,
			"sshd would listen on 127.0.0.1:22, not on 10.213.0.12:22", ""},
		{"the address hako reached", []byte(strings.NewReplacer("listenaddress [::]:22\n", "", "0.0.0.0:22\n", "10.213.0.12:22\n").Replace(string(base))), pi, "", ""},
		{"IPv6 on an IPv4-only sshd", replace("listenaddress [::]:22", "addressfamily inet"), v6, "sshd would listen on 0.0.0.0:22, not on [fd00::12]:22", ""},
		{"IPv6 wildcard", base, v6, "", ""},
		{"other port, sensitive", base, hiddenPort, "sshd would not listen on 10.213.0.12:2222", CheckSSHDPort},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, check := SSHDEffectiveRefusal(c.out, c.l)
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if check != c.check {
				t.Errorf("check %q, want %q", check, c.check)
			}
		})
	}
}
