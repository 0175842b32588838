package preflight

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
)

// runFrom is run with the connection seen from the client address addr,
// reaching 192.0.2.10.
func runFrom(t *testing.T, addr, src string, facts ...fact) (refusals []Finding) {
	t.Helper()
	h := hostOf(t, src)
	st := stateOf(t, h, facts...)
	st.Endpoint = hosts.Endpoint{ClientAddr: addr, ServerAddr: "192.0.2.10", ServerPort: h.Conn.Port}
	found, _ := Run(h, st, nil)
	return only(found, CheckSSHDLoginUser)
}

// hanakoOn22: hako logs in as hanako on port 22.
const hanakoOn22 = `host "pi" {
  address = "192.0.2.10"
  user    = "hanako"
  become  = true
}
`

// Each directive sshd decides a login by, as the plan's drop-in sets it,
// for hanako (groups hanako, sudo, users) connecting from 10.0.0.5 to
// port 22: refused exactly when sshd would refuse her key.
func TestSSHDLoginUserDirectives(t *testing.T) {
	base := []fact{login("hanako"), hostFile("/etc/ssh/sshd_config", debianSSHD), userLine("hanako", "hanako,sudo,users"), keysLine("hanako", pubKey(t)+"\n")}
	for _, c := range []struct {
		name, content string
		want          string // in the refusal; "" none
	}{
		{"AllowUsers someone else", "AllowUsers pi\n", `10-hako.conf:1 "AllowUsers pi" leaves out hanako`},
		{"AllowUsers lists her", "AllowUsers pi hanako\n", ""},
		{"AllowUsers on two lines add up", "AllowUsers pi\nAllowUsers hanako\n", ""},
		{"AllowUsers wildcard", "AllowUsers han*\n", ""},
		{"AllowUsers ?", "AllowUsers hanak?\n", ""},
		{"AllowUsers ? too short", "AllowUsers hana?\n", "leaves out hanako"},
		{"AllowUsers is case-sensitive", "AllowUsers Hanako\n", "leaves out hanako"},
		{"AllowUsers takes no comma list", "AllowUsers pi,hanako\n", "leaves out hanako"},
		{"AllowUsers takes no negation", "AllowUsers !pi\n", "leaves out hanako"},
		{"AllowUsers user@address", "AllowUsers hanako@10.0.0.5\n", ""},
		{"AllowUsers user@CIDR", "AllowUsers hanako@10.0.0.0/24\n", ""},
		{"AllowUsers user@another network", "AllowUsers hanako@192.168.1.0/24\n", "leaves out hanako"},
		{"AllowUsers user@wildcard", "AllowUsers hanako@10.0.0.*\n", ""},
		{"AllowUsers user@negated", "AllowUsers hanako@!10.0.0.5,10.0.0.0/8\n", "leaves out hanako"},
		{"AllowUsers user@list", "AllowUsers hanako@192.168.1.1,10.0.0.0/8\n", ""},
		{"DenyUsers her", "DenyUsers hanako\n", `"DenyUsers hanako" lists hanako`},
		{"DenyUsers wildcard", "DenyUsers pi h*\n", "lists hanako"},
		{"DenyUsers another", "DenyUsers pi\n", ""},
		{"DenyUsers her from elsewhere", "DenyUsers hanako@192.168.1.0/24\n", ""},
		{"DenyUsers over AllowUsers", "AllowUsers hanako\nDenyUsers hanako\n", "DenyUsers hanako"},
		{"AllowGroups one of hers", "AllowGroups ssh-users sudo\n", ""},
		{"AllowGroups her primary group", "AllowGroups hanako\n", ""},
		{"AllowGroups none of hers", "AllowGroups ssh-users\n", `"AllowGroups ssh-users" names no group of hanako's`},
		{"AllowGroups wildcard", "AllowGroups su*\n", ""},
		{"DenyGroups one of hers", "DenyGroups users\n", `"DenyGroups users" names a group of hanako's`},
		{"DenyGroups another", "DenyGroups games\n", ""},
		{"PubkeyAuthentication no", "PubkeyAuthentication no\n", `"PubkeyAuthentication no" turns off key logins`},
		{"PubkeyAuthentication=No", "PubkeyAuthentication=No\n", "turns off key logins"},
		{"PubkeyAuthentication yes", "PubkeyAuthentication yes\n", ""},
		{"PubkeyAuthentication first value wins", "PubkeyAuthentication yes\nPubkeyAuthentication no\n", ""},
		{"AuthenticationMethods key and password", "AuthenticationMethods publickey,password\n", `"AuthenticationMethods publickey,password" asks more than a key in each list`},
		{"AuthenticationMethods password", "AuthenticationMethods password\n", "asks more than a key in each list"},
		{"AuthenticationMethods a key alone in one list", "AuthenticationMethods publickey,password publickey\n", ""},
		{"AuthenticationMethods any", "AuthenticationMethods any\n", ""},
		{"AuthenticationMethods publickey", "AuthenticationMethods publickey\n", ""},
		{"commented out", "#AllowUsers pi\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := runFrom(t, "10.0.0.5", hanakoOn22+sshdTask("sshd", hardening, c.content), base...)
			switch {
			case c.want == "" && len(ref) > 0:
				t.Errorf("refused: %v", ref)
			case c.want != "" && len(ref) != 1:
				t.Errorf("refusals %v", ref)
			case c.want != "":
				mustMention(t, ref[0], "file.sshd would lock hako out: /etc/ssh/sshd_config.d/10-hako.conf:", "sshd would refuse hako's login as hanako", c.want, "(check sshd-login-user)")
			}
		})
	}
}

// Match blocks count when this connection matches them (hanako from
// 10.0.0.5 to port 22), and what they set replaces the global value.
func TestSSHDLoginUserMatch(t *testing.T) {
	base := []fact{login("hanako"), hostFile("/etc/ssh/sshd_config", debianSSHD), userLine("hanako", "hanako,sudo"), keysLine("hanako", pubKey(t)+"\n")}
	for _, c := range []struct {
		name, content string
		host          []fact
		refused       bool
	}{
		{"Match User her", "Match User hanako\n  PubkeyAuthentication no\n", nil, true},
		{"Match User=her", "Match User=hanako\n  PubkeyAuthentication no\n", nil, true},
		{"Match User another", "Match User pi\n  PubkeyAuthentication no\n", nil, false},
		{"Match User list", "Match User pi,hanako\n  DenyUsers *\n", nil, true},
		{"Match User negated", "Match User *,!hanako\n  DenyUsers *\n", nil, false},
		{"Match User negated, another", "Match User *,!pi\n  DenyUsers *\n", nil, true},
		{"Match Group hers", "Match Group sudo\n  AllowUsers pi\n", nil, true},
		{"Match Group negated", "Match Group *,!sudo\n  AllowUsers pi\n", nil, false},
		{"Match Address hers", "Match Address 10.0.0.0/8\n  AuthenticationMethods password\n", nil, true},
		{"Match Address elsewhere", "Match Address 192.168.0.0/16\n  AuthenticationMethods password\n", nil, false},
		{"Match Address negated", "Match Address *,!10.0.0.5\n  PubkeyAuthentication no\n", nil, false},
		{"Match Host: her address (UseDNS no)", "Match Host 10.0.0.*\n  PubkeyAuthentication no\n", nil, true},
		{"Match Host with UseDNS yes: unknown, no match", "UseDNS yes\nMatch Host 10.0.0.*\n  PubkeyAuthentication no\n", nil, false},
		{"Match LocalPort 22", "Match LocalPort 22\n  PubkeyAuthentication no\n", nil, true},
		{"Match LocalPort 2222", "Match LocalPort 2222\n  PubkeyAuthentication no\n", nil, false},
		{"Match LocalAddress", "Match LocalAddress 192.0.2.10\n  PubkeyAuthentication no\n", nil, true},
		{"Match all", "Match all\n  PubkeyAuthentication no\n", nil, true},
		{"criteria are ANDed", "Match User hanako Address 192.168.0.0/16\n  PubkeyAuthentication no\n", nil, false},
		{"criteria are ANDed, both match", "Match User hanako Address 10.0.0.0/8\n  PubkeyAuthentication no\n", nil, true},
		{"RDomain: no match", "Match RDomain vrf1\n  PubkeyAuthentication no\n", nil, false},
		// What a matching block sets replaces the global value.
		{"Match block lets her in over a global AllowUsers", "AllowUsers pi\nMatch User hanako\n  AllowUsers hanako\n", nil, false},
		{"Match block replaces a global AllowUsers", "AllowUsers hanako\nMatch Address 10.0.0.0/8\n  AllowUsers pi\n", nil, true},
		{"Match block's yes over a global no", "PubkeyAuthentication no\nMatch User hanako\n  PubkeyAuthentication yes\n", nil, false},
		{"first matching block wins", "Match User hanako\n  PubkeyAuthentication yes\nMatch all\n  PubkeyAuthentication no\n", nil, false},
		{"a block ends with its file", "Match User pi\n", []fact{hostFile("/etc/ssh/sshd_config.d/20-x.conf", "PubkeyAuthentication no\n")}, false},
		// An Include inside a matching block reads its files for her.
		{"Include in a matching block", "Match User hanako\n  Include /etc/ssh/users.d/*.conf\n",
			[]fact{hostFile("/etc/ssh/users.d/a.conf", "PubkeyAuthentication no\n")}, true},
		{"Include in another's block", "Match User pi\n  Include /etc/ssh/users.d/*.conf\n",
			[]fact{hostFile("/etc/ssh/users.d/a.conf", "Match all\nPubkeyAuthentication no\n")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := runFrom(t, "10.0.0.5", hanakoOn22+sshdTask("sshd", hardening, c.content), append(append([]fact{}, base...), c.host...)...)
			if got := len(ref) > 0; got != c.refused {
				t.Errorf("refused %v, want %v: %v", got, c.refused, ref)
			}
		})
	}
}

// The plan's files override the host's; the host's own configuration
// denying the login already is not the plan's doing.
func TestSSHDLoginUserPlannedOverHost(t *testing.T) {
	base := []fact{login("hanako"), hostFile("/etc/ssh/sshd_config", debianSSHD), userLine("hanako", "hanako,sudo"), keysLine("hanako", pubKey(t)+"\n")}
	for _, c := range []struct {
		name, content string
		host          []fact
		want          string
	}{
		{"the plan's file replaces the host's", "AllowUsers pi\n", []fact{hostFile(hardening, "AllowUsers hanako\n")}, "file.sshd"},
		{"the plan's file lets her in again", "AllowUsers hanako\n", []fact{hostFile(hardening, "AllowUsers pi\n")}, ""},
		{"another host file lists her too", "AllowUsers pi\n", []fact{hostFile("/etc/ssh/sshd_config.d/50-x.conf", "AllowUsers hanako\n")}, ""},
		{"the host denies her already", "PermitRootLogin no\n", []fact{hostFile("/etc/ssh/sshd_config.d/50-x.conf", "AllowUsers pi\n")}, ""},
		{"the plan's Match all ends with its file", "Match all\n", []fact{hostFile("/etc/ssh/sshd_config.d/20-x.conf", "PubkeyAuthentication no\n"),
			hostFile("/etc/ssh/sshd_config.d/05-x.conf", "PubkeyAuthentication yes\n")}, ""},
		{"sshd_config itself", "", nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := hanakoOn22
			if c.content != "" {
				src += sshdTask("sshd", hardening, c.content)
			}
			ref := runFrom(t, "10.0.0.5", src, append(append([]fact{}, base...), c.host...)...)
			switch {
			case c.want == "" && len(ref) > 0:
				t.Errorf("refused: %v", ref)
			case c.want != "" && len(ref) != 1:
				t.Errorf("refusals %v", ref)
			case c.want != "" && ref[0].Task.String() != c.want:
				t.Errorf("refused task %s, want %s: %v", ref[0].Task, c.want, ref)
			}
		})
	}
	// sshd_config written by the plan, without its Include: the host's
	// drop-in that let her in is no longer read.
	ref := runFrom(t, "10.0.0.5", hanakoOn22+sshdTask("config", "/etc/ssh/sshd_config", "AllowUsers pi\n"),
		append(append([]fact{}, base...), hostFile(hardening, "AllowUsers hanako\n"))...)
	if len(ref) != 1 || !strings.Contains(ref[0].Message, `/etc/ssh/sshd_config:1 "AllowUsers pi" leaves out hanako; sshd would refuse hako's login as hanako. Add hanako to it`) {
		t.Errorf("refusals %v", ref)
	}
}

// Groups count as the plan's user tasks leave them.
func TestSSHDLoginUserPlannedGroups(t *testing.T) {
	allowSSH := hostFile("/etc/ssh/sshd_config.d/50-groups.conf", "AllowGroups ssh-users\n")
	base := []fact{login("hanako"), hostFile("/etc/ssh/sshd_config", debianSSHD), keysLine("hanako", pubKey(t)+"\n")}
	for _, c := range []struct {
		name, tasks string
		host        []fact
		want        string
	}{
		{"a user task adds the group", `task "user" "hanako" {
  name   = "hanako"
  groups = ["ssh-users"]
}
` + sshdTask("sshd", hardening, "AllowGroups ssh-users\n"), []fact{userLine("hanako", "hanako,sudo")}, ""},
		{"the plan's AllowGroups, the group missing", sshdTask("sshd", hardening, "AllowGroups ssh-users\n"), []fact{userLine("hanako", "hanako,sudo")}, "file.sshd"},
		{"exclusive_groups drops the allowed group", `task "user" "hanako" {
  name             = "hanako"
  groups           = ["sudo"]
  exclusive_groups = true
}
`, []fact{userLine("hanako", "hanako,sudo,ssh-users"), allowSSH}, "user.hanako"},
		{"exclusive_groups keeps it", `task "user" "hanako" {
  name             = "hanako"
  groups           = ["sudo", "ssh-users"]
  exclusive_groups = true
}
`, []fact{userLine("hanako", "hanako,sudo,ssh-users"), allowSSH}, ""},
		{"a user task adds a denied group", `task "user" "hanako" {
  name   = "hanako"
  groups = ["games"]
}
`, []fact{userLine("hanako", "hanako,sudo"), hostFile("/etc/ssh/sshd_config.d/50-groups.conf", "DenyGroups games\n")}, "user.hanako"},
		{"a new user's primary group is its name", `task "user" "hanako" {
  name = "hanako"
}
` + sshdTask("sshd", hardening, "AllowGroups hanako\n"), []fact{absent("hanako")}, ""},
		{"Match Group with the planned group", `task "user" "hanako" {
  name   = "hanako"
  groups = ["lab"]
}
` + sshdTask("sshd", hardening, "Match Group lab\n  PubkeyAuthentication no\n"), []fact{userLine("hanako", "hanako,sudo")}, "file.sshd"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := runFrom(t, "10.0.0.5", hanakoOn22+c.tasks, append(append([]fact{}, base...), c.host...)...)
			switch {
			case c.want == "" && len(ref) > 0:
				t.Errorf("refused: %v", ref)
			case c.want != "" && len(ref) != 1:
				t.Errorf("refusals %v", ref)
			case c.want != "" && ref[0].Task.String() != c.want:
				t.Errorf("refused task %s, want %s: %v", ref[0].Task, c.want, ref)
			}
		})
	}
}

func TestAddrMatchList(t *testing.T) {
	for _, c := range []struct {
		addr, list string
		want       int
	}{
		{"10.0.0.5", "10.0.0.5", 1},
		{"10.0.0.5", "10.0.0.0/8", 1},
		{"10.0.0.5", "10.0.0.1/8", -2}, // host bits set: sshd rejects it
		{"10.0.0.5", "192.168.0.0/16,10.*", 1},
		{"10.0.0.5", "!10.0.0.0/8,*", -1},
		{"10.0.0.5", "", -2},
		{"10.0.0.5", "fd00::/8", 0},
		{"fd00::5", "fd00::/8", 1},
		{"::ffff:10.0.0.5", "10.0.0.0/8", 1},
		{"10.0.0.5", "10.0.0.?", 1},
	} {
		if got := addrMatchList(c.addr, c.list); got != c.want {
			t.Errorf("addrMatchList(%q, %q) = %d, want %d", c.addr, c.list, got, c.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		s, pattern string
		want       bool
	}{
		{"hanako", "hanako", true},
		{"hanako", "han*", true},
		{"hanako", "*", true},
		{"", "*", true},
		{"", "", true},
		{"", "?", false},
		{"hanako", "*ako", true},
		{"hanako", "h*k?", true},
		{"hanako", "h*k", false},
		{"hanako", "?anako", true},
		{"hanako", "hanako?", false},
		{"hanako", "Hanako", false},
		{"hanako", "*a*a*o", true},
		{"hanako", "*a*a*a*o", false},
		{"10.0.0.5", "10.0.0.*", true},
		{"abcabcabd", "*abd", true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", strings.Repeat("*a", 40) + "*b", false},
	} {
		if got := matchPattern(c.s, c.pattern); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", c.s, c.pattern, got, c.want)
		}
	}
}

// A fresh card: hako comes in as the bootstrap user pi on 22, and logs in
// as alice on 2222 from then on. Only alice is judged, on port 2222.
func TestSSHDLoginUserFreshCard(t *testing.T) {
	key := pubKey(t)
	alice := `task "user" "alice" {
  name            = "alice"
  groups          = ["sudo"]
  authorized_keys = [` + `"` + key + `"` + `]
  sudo            = "nopasswd"
}
`
	base := []fact{login("pi"), hostFile("/etc/ssh/sshd_config", debianSSHD), userLine("pi", "pi,sudo"), absent("alice")}
	for _, c := range []struct {
		name, content string
		refused       bool
	}{
		{"only alice", "Port 2222\nAllowUsers alice\n", false},
		{"only pi", "Port 2222\nAllowUsers pi\n", true},
		{"alice's new primary group", "Port 2222\nAllowGroups alice\n", false},
		{"her planned group", "Port 2222\nAllowGroups sudo\n", false},
		{"a group she will not have", "Port 2222\nAllowGroups ssh-users\n", true},
		{"a block for the new port", "Port 2222\nMatch LocalPort 2222\n  DenyUsers alice\n", true},
		{"a block for the old port", "Port 2222\nMatch LocalPort 22\n  DenyUsers alice\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := runFrom(t, "10.0.0.5", aliceHost+alice+sshdTask("sshd", hardening, c.content), base...)
			if got := len(ref) > 0; got != c.refused {
				t.Errorf("refused %v, want %v: %v", got, c.refused, ref)
			}
			if c.refused && len(ref) == 1 {
				mustMention(t, ref[0], "file.sshd would lock hako out", "sshd would refuse hako's login as alice")
			}
		})
	}
}

// hako logging in as root: PermitRootLogin no, or forced-commands-only
// (a key runs only its forced command), refuses that login; sshd's
// default prohibit-password, and the setting for another user, do not.
func TestSSHDLoginUserPermitRootLogin(t *testing.T) {
	const rootOn22 = `host "pi" {
  address = "192.0.2.10"
  user    = "root"
}
`
	base := []fact{login("root"), hostFile("/etc/ssh/sshd_config", debianSSHD), userLine("root", "root"), keysLine("root", pubKey(t)+"\n")}
	for _, c := range []struct{ content, want string }{
		{"PermitRootLogin no\n", `"PermitRootLogin no" refuses root's key login`},
		{"PermitRootLogin forced-commands-only\n", "refuses root's key login"},
		{"PermitRootLogin prohibit-password\n", ""},
		{"PermitRootLogin without-password\n", ""},
		{"PermitRootLogin yes\n", ""},
		{"PermitRootLogin yes\nPermitRootLogin no\n", ""},
		{"Match User root\n  PermitRootLogin no\n", "refuses root's key login"},
		{"Match Address 192.168.0.0/16\n  PermitRootLogin no\n", ""},
	} {
		ref := runFrom(t, "10.0.0.5", rootOn22+sshdTask("sshd", hardening, c.content), base...)
		switch {
		case c.want == "" && len(ref) > 0:
			t.Errorf("%q: refused: %v", c.content, ref)
		case c.want != "" && len(ref) != 1:
			t.Errorf("%q: refusals %v", c.content, ref)
		case c.want != "":
			mustMention(t, ref[0], "file.sshd would lock hako out", "sshd would refuse hako's login as root", c.want)
		}
	}
	// hanako is no root: PermitRootLogin no is nothing to her.
	ref := runFrom(t, "10.0.0.5", hanakoOn22+sshdTask("sshd", hardening, "PermitRootLogin no\n"),
		login("hanako"), hostFile("/etc/ssh/sshd_config", debianSSHD), userLine("hanako", "hanako,sudo"), keysLine("hanako", pubKey(t)+"\n"))
	if len(ref) > 0 {
		t.Errorf("hanako refused: %v", ref)
	}
}
