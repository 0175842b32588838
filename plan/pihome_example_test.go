package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
)

// piHomePlan loads and builds the repository's example with its test
// address and SSH port and the given vars.
func piHomePlan(t *testing.T, vars ...string) *Plan {
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
	return p
}

// piHomeHost is the example's host (piHomePlan) with the given facts.
func piHomeHost(t *testing.T, f probe.HostFacts, vars ...string) *Host {
	t.Helper()
	h, diags := piHomePlan(t, vars...).Hosts[0].WithFacts(f)
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	return h
}

// piHomeTasks returns the addresses of the example's tasks on a host with
// the given facts and vars, and what its package task installs.
func piHomeTasks(t *testing.T, f probe.HostFacts, vars ...string) (tasks, packages string) {
	t.Helper()
	h := piHomeHost(t, f, vars...)
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
	// A card Imager set Wi-Fi on: its connection saved in /etc.
	nm := sampleFacts()
	nm.NMConnections = []probe.NMProfile{{Name: "preconfigured", Type: "wifi", Device: "wlan0", State: "activated",
		File: "/etc/NetworkManager/system-connections/preconfigured.nmconnection", Persistent: true}}
	// A card booted on a cable: NetworkManager's automatic profile, in
	// /run, and a USB NIC's, waiting for DHCP.
	cable := sampleFacts()
	cable.NMConnections = []probe.NMProfile{
		{Name: "Wired connection 2", Type: "ethernet", Device: "eth1", State: "activated", File: "/run/NetworkManager/system-connections/Wired connection 2.nmconnection"},
		{Name: "Wired connection 1", Type: "ethernet", Device: "eth0", State: "activated", File: "/run/NetworkManager/system-connections/Wired connection 1.nmconnection"},
		{Name: "lo", Type: "loopback", Device: "lo", State: "activated", File: "/run/NetworkManager/system-connections/lo.nmconnection"}}
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
		{"networkmanager on a cable", cable, pppoe,
			"package.base nm_connection.lan_wired ufw.firewall file.sshd_hardening file.nm_policy_routing nm_connection.pppoe", "install ufw, ppp"},
		{"dhcpcd without PPPoE", dhcpcd, nil, "package.base file.dhcpcd ufw.firewall file.sshd_hardening", "install ufw"},
	} {
		tasks, pkgs := piHomeTasks(t, c.facts, c.vars...)
		if tasks != c.tasks || pkgs != c.pkgs {
			t.Errorf("%s: tasks\n  %s\nwant\n  %s\npackages %q, want %q", c.name, tasks, c.tasks, pkgs, c.pkgs)
		}
	}
}

// On a card booted on a cable, the example's own profile is bound to the
// Ethernet port NetworkManager brought up (not the PPPoE NIC), before and
// after the boot that brings it up, and stays there when another port is
// up too; with neither a saved lan_connection
// nor an Ethernet port up, the plan fails at the line that says so.
func TestPiHomeExampleOnACable(t *testing.T) {
	auto := probe.NMProfile{Name: "Wired connection 1", Type: "ethernet", Device: "eth0", State: "activated",
		File: "/run/NetworkManager/system-connections/Wired connection 1.nmconnection"}
	usb := probe.NMProfile{Name: "Wired connection 2", Type: "ethernet", Device: "eth1", State: "activated",
		File: "/run/NetworkManager/system-connections/Wired connection 2.nmconnection"}
	waiting := probe.NMProfile{Name: "Wired connection 3", Type: "ethernet", Device: "eth2", State: "activating",
		File: "/run/NetworkManager/system-connections/Wired connection 3.nmconnection"}
	own := probe.NMProfile{Name: "lan", Type: "ethernet", Device: "eth0", State: "activated",
		File: "/etc/NetworkManager/system-connections/lan.nmconnection", Persistent: true}
	for _, c := range []struct {
		name     string
		profiles []probe.NMProfile
	}{
		{"first run", []probe.NMProfile{waiting, usb, auto}},
		{"after the boot", []probe.NMProfile{usb, own}},
		// Another port up first in nmcli's list does not move lan.
		{"another port up", []probe.NMProfile{{Name: "Wired connection 4", Type: "ethernet", Device: "eth3", State: "activated",
			File: "/run/NetworkManager/system-connections/Wired connection 4.nmconnection"}, usb, own}},
	} {
		f := sampleFacts()
		f.NMConnections = c.profiles
		keyfile := piHomeKeyfile(t, f, "nm_connection.lan_wired")
		for _, want := range []string{"id=lan\n", "type=ethernet\n", "interface-name=eth0\n", "autoconnect=true\n", "autoconnect-priority=10\n",
			"method=manual\n", "address1=192.168.0.64/24\n", "gateway=192.168.0.1\n"} {
			if !strings.Contains(keyfile, want) {
				t.Errorf("%s: the keyfile lacks %q:\n%s", c.name, want, keyfile)
			}
		}
	}

	f := sampleFacts()
	f.NMConnections = []probe.NMProfile{waiting, usb}
	// The error shows its line, whose comment says what to do.
	_, diags := piHomePlan(t).Hosts[0].WithFacts(f)
	if !diags.HasErrors() || diags[0].Subject == nil || filepath.Base(diags[0].Subject.Filename) != "tasks.hcl" {
		t.Fatalf("no Ethernet port up:\n%s", render(diags))
	}
	src, err := os.ReadFile(diags[0].Subject.Filename)
	if err != nil {
		t.Fatal(err)
	}
	if line := strings.Split(string(src), "\n")[diags[0].Subject.Start.Line-1]; !strings.Contains(line, "# no lan_connection file, no Ethernet port up and no netplan Wi-Fi up: set lan_connection") {
		t.Errorf("the error's line says nothing of what to do: %s\n%s", line, render(diags))
	}
}

// piHomeKeyfile is the keyfile the example's task addr plans on a host
// with these facts where NetworkManager runs and no keyfile exists yet.
func piHomeKeyfile(t *testing.T, f probe.HostFacts, addr string) string {
	t.Helper()
	h := piHomeHost(t, f)
	for _, s := range h.Steps {
		if s.Task.Address().String() != addr {
			continue
		}
		fake := probe.NewFake().Set(probe.NetDevices{}, map[string]string{"eth0": "connected"}).Set(probe.Facts{}, f)
		fake.Else = probe.Fresh
		a, err := fake.Answer(s.Task.Probes())
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Task.Check(tasks.NewState(a), tasks.Env{})
		if err != nil {
			t.Fatal(err)
		}
		return string(c.Planned.(*tasks.NMConnectionPlan).Keyfile)
	}
	t.Fatalf("no task %s in %s", addr, strings.Join(addrs(h), " "))
	return ""
}

// Cards of today, Raspberry Pi OS bookworm and trixie, in the shapes
// Imager and cloud-init leave them: the static address goes on the cable
// when one is up, even where Imager set Wi-Fi (the Wi-Fi profile is left
// alone); on a cloud-init card's netplan Wi-Fi, with no cable, it goes in
// a netplan file of the plan's own that names the Wi-Fi device and no
// secret.
func TestPiHomeExampleOnTodaysCards(t *testing.T) {
	const run = "/run/NetworkManager/system-connections/"
	wifi := probe.NMProfile{Name: "preconfigured", Type: "wifi", Device: "wlan0", State: "activated",
		File: "/etc/NetworkManager/system-connections/preconfigured.nmconnection", Persistent: true}
	auto := probe.NMProfile{Name: "Wired connection 1", Type: "ethernet", Device: "eth0", State: "activated", File: run + "Wired connection 1.nmconnection"}
	npWifi := probe.NMProfile{Name: "netplan-wlan0-Home Net", Type: "wifi", Device: "wlan0", State: "activated",
		File: run + "netplan-wlan0-Home%20Net.nmconnection", Netplan: true}
	npEth := probe.NMProfile{Name: "netplan-eth0", Type: "ethernet", Device: "eth0", State: "activated", File: run + "netplan-eth0.nmconnection", Netplan: true}
	lo := probe.NMProfile{Name: "lo", Type: "loopback", Device: "lo", State: "activated", File: run + "lo.nmconnection"}
	base := "package.base %s ufw.firewall file.sshd_hardening"
	for _, c := range []struct {
		name     string
		profiles []probe.NMProfile
		task     string
	}{
		{"bookworm, Imager's Wi-Fi and a cable", []probe.NMProfile{wifi, auto, lo}, "nm_connection.lan_wired"},
		{"trixie, Imager's Wi-Fi and a cable", []probe.NMProfile{npWifi, auto, lo}, "nm_connection.lan_wired"},
		{"trixie, network-config's Ethernet (the image's own)", []probe.NMProfile{npEth, lo}, "nm_connection.lan_wired"},
		{"trixie, Imager's Wi-Fi only", []probe.NMProfile{npWifi, lo}, "file.netplan_lan"},
	} {
		f := sampleFacts()
		f.NMConnections = c.profiles
		if got, _ := piHomeTasks(t, f); got != strings.Replace(base, "%s", c.task, 1) {
			t.Errorf("%s: tasks %s, want %s", c.name, got, c.task)
		}
		if c.task == "nm_connection.lan_wired" {
			if k := piHomeKeyfile(t, f, c.task); !strings.Contains(k, "interface-name=eth0\n") || !strings.Contains(k, "address1=192.168.0.64/24\n") {
				t.Errorf("%s: the keyfile:\n%s", c.name, k)
			}
		}
	}

	f := sampleFacts()
	f.NMConnections = []probe.NMProfile{npWifi, lo}
	for _, s := range piHomeHost(t, f).Steps {
		if s.Task.Address().String() != "file.netplan_lan" {
			continue
		}
		c := freshCheck(t, s.Task)
		want := "network:\n  version: 2\n  wifis:\n    \"wlan0\":\n      dhcp4: false\n      addresses: [\"192.168.0.64/24\"]\n" +
			"      routes:\n        - to: default\n          via: \"192.168.0.1\"\n      nameservers:\n        addresses: [\"192.168.0.1\"]\n"
		diff := c.Content.Diff()
		if c.Summary != "create /etc/netplan/90-hako-lan.yaml" || !strings.Contains(diff, "+"+strings.ReplaceAll(strings.TrimSuffix(want, "\n"), "\n", "\n+")) {
			t.Errorf("file.netplan_lan: %s\n%s\nwant it to end in\n%s", c.Summary, diff, want)
		}
		for _, a := range c.Attrs {
			if a.Name == "mode" && a.After != "0600" {
				t.Errorf("file.netplan_lan: mode %s", a.After)
			}
		}
	}
}
