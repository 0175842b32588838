package probe

import (
	"os"
	"os/exec"
	"path/filepath"
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
		SSHD: SSHDService, UFW: true}
	if f != want {
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
