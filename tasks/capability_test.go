package tasks

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// Every path the guard protects is classified by what it can cut; paths
// that cut nothing are not guarded.
func TestPathCuts(t *testing.T) {
	for p, want := range map[string]Cuts{
		"/etc/ssh/sshd_config.d/10-hako.conf": CutsSSH, "/etc/ssh": CutsSSH, "/etc/sshd": 0,
		"/etc/dhcpcd.conf": CutsNetwork, "/etc/default/ufw": CutsFirewall, "/etc/ufw/user.rules": CutsFirewall,
		"/etc/nftables.conf": CutsFirewall, "/etc/nftables.d/x.nft": CutsFirewall, "/etc/iptables/rules.v4": CutsFirewall,
		"/etc/network/interfaces.d/x": CutsNetwork, "/etc/network": CutsNetwork,
		"/etc/sudoers.d/hako-alice": CutsSudo, "/etc/sudoers": CutsSudo, "/etc/sudoers.d": CutsSudo,
		"/etc/motd": 0, "/etc/ppp/chap-secrets": 0, "/etc/sudoers.bak": 0,
		"/etc/systemd/system/ssh.socket.d/port.conf": CutsSSH, "/etc/netplan/50-cloud-init.yaml": CutsNetwork,
		"/etc/hosts.deny": CutsSSH, "/etc/hosts.allow": CutsSSH, "/etc/pam.d/sshd": CutsSSH,
		"/etc/systemd/system/nginx.service": 0, "/etc/systemd/system/ssh.service": CutsSSH,
		"/etc/systemd/system/ssh.service.d/x.conf": CutsSSH, "/etc/default/ssh": CutsSSH,
		"/etc/wpa_supplicant/wpa_supplicant.conf": CutsNetwork, "/etc/NetworkManager/system-connections/w": CutsNetwork,
		"/etc/systemd/network/10-eth.network": CutsNetwork,
	} {
		if got := PathCuts(p); got != want {
			t.Errorf("PathCuts(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestCutsString(t *testing.T) {
	for c, want := range map[Cuts]string{0: "nothing", CutsSSH: "ssh", CutsSSH | CutsSudo: "ssh+sudo",
		CutsNetwork | CutsFirewall: "network+firewall"} {
		if c.String() != want {
			t.Errorf("%d: %q, want %q", c, c.String(), want)
		}
	}
}

// A user task writes its sudo rule and cuts sudo when it manages the
// rule; it cuts SSH when it manages the keys of a user hako logs in as.
func TestUserCapabilities(t *testing.T) {
	env := Env{LoginUsers: []string{"admin", "pi"}}
	for _, c := range []struct {
		attrs map[string]cty.Value
		paths string
		cuts  Cuts
	}{
		{map[string]cty.Value{"name": str("alice")}, "", 0},
		{map[string]cty.Value{"name": str("alice"), "sudo": str("nopasswd")}, "/etc/sudoers.d/hako-alice", CutsSudo},
		{map[string]cty.Value{"name": str("alice"), "sudo": str("none")}, "/etc/sudoers.d/hako-alice", CutsSudo},
		{map[string]cty.Value{"name": str("alice"), "state": str("absent")}, "/etc/sudoers.d/hako-alice", CutsSudo},
		{map[string]cty.Value{"name": str("alice"), "exclusive_keys": cty.True}, "", 0},
		{map[string]cty.Value{"name": str("admin"), "exclusive_keys": cty.True}, "", CutsSSH},
		{map[string]cty.Value{"name": str("pi"), "state": str("absent")}, "/etc/sudoers.d/hako-pi", CutsSSH | CutsSudo},
		{map[string]cty.Value{"name": str("admin"), "groups": cty.ListVal([]cty.Value{str("adm")})}, "", 0},
	} {
		u := userTask(t, c.attrs)
		paths := ""
		if ps := u.WrittenPaths(); len(ps) > 0 {
			paths = ps[0]
		}
		if paths != c.paths || u.Cuts(env) != c.cuts {
			t.Errorf("%v: paths %q cuts %v, want %q %v", c.attrs, paths, u.Cuts(env), c.paths, c.cuts)
		}
	}
}

// The file task says which leftover temp files it leaves (preflight asks
// through the named interface, so a kind that lacks it is a compile-time
// fact here, not a silent opt-out).
var _ LeftoverWarner = (*File)(nil)
