package probe

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The facts decode from their records; os-release is read as data (its
// quoting and escapes), never run.
func TestDecodeFacts(t *testing.T) {
	osRelease := `PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"
# a comment
NAME='Raspbian'
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=raspbian
ID_LIKE=debian
` + "BUG_REPORT_URL=\"x\\\"y\\\\ \\$HOME \\` $(reboot)\"\nnot a line\n"
	var out string
	for _, l := range strings.Split(osRelease, "\n") {
		out += rec(0, "os", l)
	}
	out += "0 arch :aarch64\n0 init :systemd\n0 running :dhcpcd\n0 running :NetworkManager\n0 iface :lo\n" +
		"0 sshd-socket :inactive\n0 sshd-service :active\n0 ufw :1\n" + endMarker + "\n"
	a, err := Decode([]byte(out), []Request{Facts{}})
	if err != nil {
		t.Fatal(err)
	}
	f := a.HostFacts()
	want := HostFacts{OS: OSRelease{ID: "raspbian", VersionID: "12", Codename: "bookworm", PrettyName: "Raspbian GNU/Linux 12 (bookworm)"},
		Arch: "aarch64", Init: "systemd", Network: NetworkNM, NetworkStacks: NetworkStacks{NetworkManager: true, Dhcpcd: true},
		SSHD: SSHDService, UFW: true, NMConnections: []NMProfile{}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("facts\n got %+v\nwant %+v", f, want)
	}
	if got := parseOSRelease(strings.Split(osRelease, "\n")); got.ID != "raspbian" {
		t.Errorf("os %+v", got)
	}
	if v := unquoteOSRelease("\"x\\\"y\\\\ \\$HOME \\` $(reboot)\""); v != "x\"y\\ $HOME ` $(reboot)" {
		t.Errorf("unquoted %q", v)
	}
}

// Which stack owns the interfaces, and how sshd starts, from what the
// host has.
func TestFactsNetworkAndSSHD(t *testing.T) {
	for _, c := range []struct {
		recs          string
		network, sshd string
	}{
		{"", NetworkNone, SSHDNone},
		{"0 iface :lo\n", NetworkNone, SSHDNone},
		{"0 iface :eth0\n0 sshd-pid :\n", NetworkIfupdown, SSHDService},
		{"0 iface :dsl-provider\n0 running :dhcpcd\n", NetworkDhcpcd, SSHDNone},
		{"0 running :dhcpcd\n0 running :systemd-networkd\n0 sshd-socket :active\n0 sshd-service :active\n", NetworkNetworkd, SSHDSocket},
		{"0 running :systemd-networkd\n0 running :NetworkManager\n0 sshd-socket :inactive\n0 sshd-service :activating\n", NetworkNM, SSHDService},
	} {
		a, err := Decode([]byte("0 arch :x86_64\n0 init :systemd\n0 ufw :0\n"+c.recs+endMarker+"\n"), []Request{Facts{}})
		if err != nil {
			t.Fatal(err)
		}
		if f := a.HostFacts(); f.Network != c.network || f.SSHD != c.sshd || f.UFW {
			t.Errorf("%q: network %q sshd %q ufw %v, want %q %q", c.recs, f.Network, f.SSHD, f.UFW, c.network, c.sshd)
		}
	}
	for _, bad := range []string{"0 running :sshd\n0 arch :x\n", "0 ufw :1\n", "0 colour :blue\n0 arch :x\n"} {
		if _, err := Decode([]byte(bad+endMarker+"\n"), []Request{Facts{}}); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// The facts of this machine, asked through the real shell, agree with
// what its own commands say.
func TestGatherFactsLocally(t *testing.T) {
	a, err := Gather(t.Context(), local(), []Request{Facts{}})
	if err != nil {
		t.Fatal(err)
	}
	f := a.HostFacts()
	arch, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	if f.Arch != strings.TrimSpace(string(arch)) {
		t.Errorf("arch %q, uname -m says %s", f.Arch, arch)
	}
	comm, err := os.ReadFile("/proc/1/comm")
	if err == nil && f.Init != strings.TrimSpace(string(comm)) {
		t.Errorf("init %q, /proc/1/comm says %s", f.Init, comm)
	}
	osRel, err := os.ReadFile("/etc/os-release")
	if err == nil && f.OS != parseOSRelease(strings.Split(string(osRel), "\n")) || f.OS.ID == "" && err == nil {
		t.Errorf("os %+v, /etc/os-release:\n%s", f.OS, osRel)
	}
	_, ufwErr := os.Stat("/usr/sbin/ufw")
	if _, err := os.Stat("/sbin/ufw"); err == nil {
		ufwErr = nil
	}
	if f.UFW != (ufwErr == nil) {
		t.Errorf("ufw %v", f.UFW)
	}
}

// A process named dhcpcd counts as dhcpcd running: the shell reads every
// /proc/*/comm without starting pidof.
func TestFactsSeeARunningDaemon(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "dhcpcd")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(bin, data, 0o755))
	before, err := Gather(t.Context(), local(), []Request{Facts{}})
	if err != nil {
		t.Fatal(err)
	}
	if before.HostFacts().NetworkStacks.Dhcpcd {
		t.Skip("dhcpcd runs on this machine")
	}
	cmd := exec.Command(bin, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	a, err := Gather(t.Context(), local(), []Request{Facts{}})
	if err != nil {
		t.Fatal(err)
	}
	if f := a.HostFacts(); !f.NetworkStacks.Dhcpcd || f.Network == NetworkNone {
		t.Errorf("a running dhcpcd is not seen: %+v", f)
	}
}

// nmcli's terse lines become profiles: "\:" and "\\" unescaped, the long
// type names shortened, persistent only for a file under /etc, netplan
// only for a netplan-*.nmconnection file in /run; a line of
// another shape fails the probe rather than naming a wrong profile.
func TestDecodeNMConnections(t *testing.T) {
	lines := []string{
		`preconfigured:0b7e…-1:802-11-wireless:wlan0:activated:/etc/NetworkManager/system-connections/preconfigured.nmconnection`,
		`Wired connection 1:a58f-2:802-3-ethernet:eth0:activating:/run/NetworkManager/system-connections/Wired connection 1.nmconnection`,
		`a\:b\\c:c3dd-3:pppoe:::/etc/NetworkManager/system-connections/a\:b\\c.nmconnection`,
		`lo:e894-4:loopback:lo:activated:`,
		`netplan-wlan0-Home Net:5d1c-5:802-11-wireless:wlan0:activated:/run/NetworkManager/system-connections/netplan-wlan0-Home Net.nmconnection`,
		`netplan-eth0:7e2a-6:802-3-ethernet:::/etc/NetworkManager/system-connections/netplan-eth0.nmconnection`,
	}
	out := "0 arch :aarch64\n0 running :NetworkManager\n"
	for _, l := range lines {
		out += rec(0, "nmcon", l)
	}
	a, err := Decode([]byte(out+endMarker+"\n"), []Request{Facts{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []NMProfile{
		{Name: "preconfigured", UUID: "0b7e…-1", Type: "wifi", Device: "wlan0", State: "activated",
			File: "/etc/NetworkManager/system-connections/preconfigured.nmconnection", Persistent: true},
		{Name: "Wired connection 1", UUID: "a58f-2", Type: "ethernet", Device: "eth0", State: "activating",
			File: "/run/NetworkManager/system-connections/Wired connection 1.nmconnection"},
		{Name: `a:b\c`, UUID: "c3dd-3", Type: "pppoe", File: `/etc/NetworkManager/system-connections/a:b\c.nmconnection`, Persistent: true},
		{Name: "lo", UUID: "e894-4", Type: "loopback", Device: "lo", State: "activated"},
		{Name: "netplan-wlan0-Home Net", UUID: "5d1c-5", Type: "wifi", Device: "wlan0", State: "activated",
			File: "/run/NetworkManager/system-connections/netplan-wlan0-Home Net.nmconnection", Netplan: true},
		// netplan-* by name only, saved in /etc: not netplan's.
		{Name: "netplan-eth0", UUID: "7e2a-6", Type: "ethernet", File: "/etc/NetworkManager/system-connections/netplan-eth0.nmconnection", Persistent: true},
	}
	if got := a.HostFacts().NMConnections; !slices.Equal(got, want) {
		t.Errorf("profiles\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"", "name", "a:b:c:d:e", "a:b:c:d:e:f:g", ":uuid:ethernet:::", "name::ethernet:::"} {
		if _, err := Decode([]byte("0 arch :x\n"+rec(0, "nmcon", bad)+endMarker+"\n"), []Request{Facts{}}); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	// Without NetworkManager: an empty list, which a plan can iterate over.
	a, err = Decode([]byte("0 arch :x\n"+endMarker+"\n"), []Request{Facts{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.HostFacts().NMConnections; got == nil || len(got) != 0 {
		t.Errorf("no NetworkManager: %#v", got)
	}
}

// The shell asks nmcli for the profiles only while NetworkManager runs
// (a process of that name), and hands on its lines as they are.
func TestFactsAskNMCLIWhereNetworkManagerRuns(t *testing.T) {
	dir := t.TempDir()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "nmcli"), []byte("#!/bin/sh\n"+
		"[ \"$*\" = '-t -f NAME,UUID,TYPE,DEVICE,STATE,FILENAME connection show' ] || exit 2\n"+
		"echo 'Wired connection 1:a58f:802-3-ethernet:eth0:activated:/run/NetworkManager/system-connections/Wired connection 1.nmconnection'\n"+
		"echo 'lan\\:x:1111:802-3-ethernet:::/etc/NetworkManager/system-connections/lan.nmconnection'\n"+
		"echo ' * [a]:2222:802-11-wireless:::'\n"), 0o755))
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	before, err := Gather(t.Context(), local(), []Request{Facts{}})
	if err != nil {
		t.Fatal(err)
	}
	if before.HostFacts().NetworkStacks.NetworkManager {
		t.Skip("NetworkManager runs on this machine")
	}
	if got := before.HostFacts().NMConnections; len(got) != 0 {
		t.Errorf("nmcli asked without NetworkManager running: %+v", got)
	}
	nm := filepath.Join(dir, "NetworkManager")
	must(t, os.WriteFile(nm, data, 0o755))
	cmd := exec.Command(nm, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	a, err := Gather(t.Context(), local(), []Request{Facts{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []NMProfile{
		{Name: "Wired connection 1", UUID: "a58f", Type: "ethernet", Device: "eth0", State: "activated",
			File: "/run/NetworkManager/system-connections/Wired connection 1.nmconnection"},
		{Name: "lan:x", UUID: "1111", Type: "ethernet", File: "/etc/NetworkManager/system-connections/lan.nmconnection", Persistent: true},
		{Name: " * [a]", UUID: "2222", Type: "wifi"}, // not a glob, spaces kept
	}
	if got := a.HostFacts().NMConnections; !slices.Equal(got, want) {
		t.Errorf("profiles\n got %+v\nwant %+v", got, want)
	}
}
