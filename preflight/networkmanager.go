package preflight

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// dhcpcd-networkmanager (a warning): the plan writes /etc/dhcpcd.conf but
// NetworkManager runs or manages the interface. Raspberry Pi OS bookworm
// images use NetworkManager: dhcpcd is not running, the file does nothing.

const dhcpcdConf = "/etc/dhcpcd.conf"

func networkManager(e *env) []Finding {
	p, ok := e.planned[dhcpcdConf]
	if !ok {
		return nil
	}
	var why []string
	if e.facts.host.NetworkStacks.NetworkManager {
		why = append(why, "NetworkManager is running")
	}
	if devs := managedDevices(e.facts.devices, dhcpcdInterfaces(p.data)); len(devs) > 0 {
		why = append(why, "it manages "+strings.Join(devs, ", "))
	}
	if len(why) == 0 {
		return nil
	}
	return []Finding{{Check: WarnNetworkManager, Task: p.task, Message: fmt.Sprintf(
		"%s writes %s, but %s on this host: dhcpcd does not run the network, so the file does nothing; set the address with nmcli or in /etc/NetworkManager/system-connections/",
		p.task, dhcpcdConf, strings.Join(why, " and "))}}
}

// dhcpcdInterfaces are the interfaces dhcpcd.conf has blocks for.
func dhcpcdInterfaces(conf []byte) []string {
	var out []string
	for _, line := range strings.Split(string(conf), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "interface" {
			out = append(out, f[1])
		}
	}
	return out
}

// managedDevices are the devices nmcli lists as managed (any state but
// unmanaged, loopback aside), of ifaces when there are any.
func managedDevices(devices map[string]string, ifaces []string) []string {
	var out []string
	for d, state := range devices {
		if d == "lo" || state == "unmanaged" || state == "" || (len(ifaces) > 0 && !slices.Contains(ifaces, d)) {
			continue
		}
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
