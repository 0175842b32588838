package plan

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/probe"
)

// piHomeTasks builds the repository's example with vars for a host with
// the given facts and returns its tasks' addresses and what its package
// task installs.
func piHomeTasks(t *testing.T, f probe.HostFacts, vars ...string) (tasks, packages string) {
	t.Helper()
	cfg, diags := Load(filepath.Join("..", "examples", "pi-home-server"))
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	in := Inputs{Environ: []string{}}
	for _, v := range append([]string{"address=192.0.2.64", "ssh_port=50022"}, vars...) {
		in.Args = append(in.Args, VarArg{Assign: v})
	}
	p, diags := Build(cfg, in)
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	h, diags := p.Hosts[0].WithFacts(f)
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	for _, s := range h.Steps {
		if s.Task.Address().String() == "package.base" {
			packages = freshCheck(t, s.Task).Summary
		}
	}
	return strings.Join(addrs(h), " "), packages
}

// The example takes the NetworkManager path where NetworkManager owns the
// network and today's dhcpcd/ifupdown path elsewhere, with the same
// variables; without pppoe_user it has no PPPoE at all.
func TestPiHomeExamplePicksThePathFromFacts(t *testing.T) {
	nm := sampleFacts()
	dhcpcd := sampleFacts()
	dhcpcd.Network, dhcpcd.NetworkStacks = probe.NetworkDhcpcd, probe.NetworkStacks{Dhcpcd: true}
	none := sampleFacts()
	none.Network, none.NetworkStacks = probe.NetworkNone, probe.NetworkStacks{}
	pppoe := []string{"pppoe_user=user@isp.example", "pppoe_password=pw"}
	older := "package.base file.dhcpcd ufw.firewall file.sshd_hardening file.ppp_peer file.chap_secrets file.pap_secrets " +
		"directory.interfaces_d file.interfaces_pppoe file.policy_routing_up file.policy_routing_down command.pppoe_session"
	for _, c := range []struct {
		name        string
		facts       probe.HostFacts
		vars        []string
		tasks, pkgs string
	}{
		{"networkmanager", nm, pppoe,
			"package.base nm_connection.lan ufw.firewall file.sshd_hardening file.nm_policy_routing nm_connection.pppoe", "install ufw, ppp"},
		{"dhcpcd", dhcpcd, pppoe, older, "install ufw, ppp, pppoe"},
		{"no network daemon", none, pppoe, older, "install ufw, ppp, pppoe"},
		// No PPPoE variables: no PPPoE task nor package, no password.
		{"networkmanager without PPPoE", nm, nil, "package.base nm_connection.lan ufw.firewall file.sshd_hardening", "install ufw"},
		{"dhcpcd without PPPoE", dhcpcd, nil, "package.base file.dhcpcd ufw.firewall file.sshd_hardening", "install ufw"},
	} {
		tasks, pkgs := piHomeTasks(t, c.facts, c.vars...)
		if tasks != c.tasks || pkgs != c.pkgs {
			t.Errorf("%s: tasks\n  %s\nwant\n  %s\npackages %q, want %q", c.name, tasks, c.tasks, pkgs, c.pkgs)
		}
	}
}
