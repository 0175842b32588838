package preflight

import "testing"

func TestDhcpcdWithNetworkManager(t *testing.T) {
	dhcpcd := sshdTask("dhcpcd", "/etc/dhcpcd.conf", "interface eth0\nstatic ip_address=192.168.0.64/24\n")
	for _, c := range []struct {
		name, tasks string
		facts       []fact
		want        string
	}{
		{"NetworkManager running", dhcpcd, units("disabled", "inactive", "active"), "NetworkManager is running on this host"},
		{"nmcli: eth0 connected", dhcpcd, []fact{device("lo", "unmanaged"), device("eth0", "connected"), device("wlan0", "disconnected")}, "it manages eth0 on this host"},
		{"both", dhcpcd, append(units("disabled", "inactive", "active"), device("eth0", "connected")), "NetworkManager is running and it manages eth0"},
		{"nmcli: eth0 unmanaged", dhcpcd, []fact{device("eth0", "unmanaged"), device("wlan0", "disconnected")}, ""},
		{"dhcpcd (bullseye)", dhcpcd, units("disabled", "inactive", "inactive"), ""},
		{"no dhcpcd.conf task", sshdTask("motd", "/etc/motd", "hi\n"), units("disabled", "inactive", "active"), ""},
	} {
		h := hostOf(t, piHost+c.tasks)
		_, warn := run(t, h, nil, append([]fact{login("pi"), userLine("pi", "pi,sudo")}, c.facts...)...)
		if c.want == "" {
			wantFindings(t, c.name, warn, "")
			continue
		}
		wantFindings(t, c.name, warn, "dhcpcd-networkmanager file.dhcpcd")
		if len(warn) == 1 {
			mustMention(t, warn[0], "file.dhcpcd writes /etc/dhcpcd.conf, but "+c.want, "so the file does nothing", "nmcli")
		}
	}
}
