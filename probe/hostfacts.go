package probe

import (
	"fmt"
	"slices"
	"strings"
)

// Facts asks for what a plan may read of a host as host.facts: its OS
// release, architecture, init, network stack, how sshd is started and
// whether ufw is installed. Preflight asks for it too (whether
// NetworkManager runs), so the host is asked once.
type Facts struct{}

// HostFacts is what a Facts learned. Its json and cty tags are the names
// a plan and `hako facts -json` use.
type HostFacts struct {
	OS OSRelease `json:"os" cty:"os"`
	// Arch is the kernel's machine name (uname -m): x86_64, aarch64, armv7l.
	Arch string `json:"arch" cty:"arch"`
	// Init is PID 1's name: "systemd", else whatever runs as PID 1
	// ("init" for sysvinit or busybox, "sh" in a container).
	Init string `json:"init" cty:"init"`
	// Network names the stack that owns the interfaces: one of
	// NetworkNM, NetworkNetworkd, NetworkDhcpcd, NetworkIfupdown or
	// NetworkNone (see NetworkStacks for the order).
	Network string `json:"network" cty:"network"`
	// NetworkStacks says which stacks are there, several at once on a host
	// in transition (ifupdown keeping a PPPoE link next to dhcpcd).
	NetworkStacks NetworkStacks `json:"network_stacks" cty:"network_stacks"`
	// SSHD is how sshd is started: SSHDSocket (systemd's ssh.socket),
	// SSHDService (a daemon: ssh.service, or its pid file without
	// systemd) or SSHDNone.
	SSHD string `json:"sshd" cty:"sshd"`
	// UFW: the ufw command is installed.
	UFW bool `json:"ufw" cty:"ufw"`
	// NMConnections are NetworkManager's connection profiles as `nmcli
	// connection show` lists them, in its order (which a plan should not
	// count on), read only while NetworkManager runs: empty, never null,
	// elsewhere. A plan chooses by
	// them between a profile the card has (the Wi-Fi one Raspberry Pi Imager
	// saved) and one of its own (a card booted on a cable has only
	// NetworkManager's automatic "Wired connection 1", kept in /run).
	NMConnections []NMProfile `json:"nm_connections" cty:"nm_connections"`
}

// NMProfile is one NetworkManager connection profile.
type NMProfile struct {
	Name string `json:"name" cty:"name"` // connection.id
	UUID string `json:"uuid" cty:"uuid"`
	// Type is the profile's type by the names nm_connection and keyfiles
	// use: "ethernet", "wifi", "pppoe", "loopback", "bridge", ...
	Type string `json:"type" cty:"type"`
	// Device is the device the profile is active (or activating) on, ""
	// when it is not active.
	Device string `json:"device" cty:"device"`
	// State is the activation state: "activated", "activating",
	// "deactivating", or "" when the profile is not active.
	State string `json:"state" cty:"state"`
	// File is the file NetworkManager read the profile from or keeps it
	// in ("" for one held in memory only).
	File string `json:"file" cty:"file"`
	// Persistent: the file is under /etc, so NetworkManager reads the
	// profile again at the next boot. Profiles NetworkManager made by
	// itself (the automatic "Wired connection N", the "lo" or "eth0" of a
	// device configured outside it) and the ones netplan generates are in
	// /run, which a boot empties (netplan makes its own again from
	// /etc/netplan).
	Persistent bool `json:"persistent" cty:"persistent"`
	// Netplan: netplan generated the profile (a file netplan-*.nmconnection
	// in /run/NetworkManager/system-connections), as it does on a card
	// whose network cloud-init sets up (Raspberry Pi OS trixie: Imager's
	// network-config, rendered to /etc/netplan). Such a profile is read-only
	// in effect: netplan writes it again at each boot from /etc/netplan, so
	// a change made to it through NetworkManager does not last; a plan
	// leaves it alone and saves a profile of its own in /etc.
	Netplan bool `json:"netplan" cty:"netplan"`
}

// OSRelease holds the fields of os-release(5) a plan chooses by; a field
// the file lacks is "" (Debian testing has no VERSION_ID).
type OSRelease struct {
	ID         string `json:"id" cty:"id"`                   // ID: debian, raspbian, ubuntu
	VersionID  string `json:"version_id" cty:"version_id"`   // VERSION_ID: 12
	Codename   string `json:"codename" cty:"codename"`       // VERSION_CODENAME: bookworm
	PrettyName string `json:"pretty_name" cty:"pretty_name"` // PRETTY_NAME
}

// NetworkStacks says which network stacks are present, each by its
// cheapest sure sign: a daemon by its process running (by name in
// /proc/*/comm), ifupdown by being installed and configuring an interface
// other than lo in /etc/network/interfaces or interfaces.d.
type NetworkStacks struct {
	NetworkManager bool `json:"networkmanager" cty:"networkmanager"`
	Networkd       bool `json:"systemd_networkd" cty:"systemd_networkd"`
	Dhcpcd         bool `json:"dhcpcd" cty:"dhcpcd"`
	Ifupdown       bool `json:"ifupdown" cty:"ifupdown"`
}

// The values of HostFacts.Network.
const (
	NetworkNM       = "networkmanager"
	NetworkNetworkd = "systemd-networkd"
	NetworkDhcpcd   = "dhcpcd"
	NetworkIfupdown = "ifupdown"
	NetworkNone     = "none"
)

// The values of HostFacts.SSHD.
const (
	SSHDSocket  = "socket"
	SSHDService = "service"
	SSHDNone    = "none"
)

// owner is the stack that owns the interfaces when several are present: a
// running daemon before configuration files, NetworkManager and networkd
// (which take every interface they are not told to leave) before dhcpcd,
// and dhcpcd before ifupdown, which on a dhcpcd card often configures a
// PPPoE link only (pppoeconf's dsl-provider).
func (s NetworkStacks) owner() string {
	switch {
	case s.NetworkManager:
		return NetworkNM
	case s.Networkd:
		return NetworkNetworkd
	case s.Dhcpcd:
		return NetworkDhcpcd
	case s.Ifupdown:
		return NetworkIfupdown
	}
	return NetworkNone
}

func (Facts) Call() (Func, []string) { return builtin("hako_facts") }
func (Facts) Describe() string       { return "the host facts probe" }
func (Facts) Decode(recs []Record) (any, error) {
	var f HostFacts
	var osLines []string
	var sock, svc string
	pid := false
	for _, rec := range recs {
		v := string(rec.Value)
		switch rec.Field {
		case "os":
			osLines = append(osLines, v)
		case "arch":
			f.Arch = v
		case "init":
			f.Init = v
		case "running":
			switch v {
			case "NetworkManager":
				f.NetworkStacks.NetworkManager = true
			case "systemd-networkd":
				f.NetworkStacks.Networkd = true
			case "dhcpcd":
				f.NetworkStacks.Dhcpcd = true
			default:
				return nil, badField(rec)
			}
		case "iface":
			if v != "lo" && v != "" {
				f.NetworkStacks.Ifupdown = true
			}
		case "sshd-socket":
			sock = v
		case "sshd-service":
			svc = v
		case "sshd-pid":
			pid = true
		case "ufw":
			f.UFW = v == "1"
		case "nmcon":
			p, ok := parseNMProfile(v)
			if !ok {
				return nil, badField(rec)
			}
			f.NMConnections = append(f.NMConnections, p)
		default:
			return nil, badField(rec)
		}
	}
	if f.Arch == "" {
		return nil, fmt.Errorf("no architecture in the answer")
	}
	if f.NMConnections == nil {
		f.NMConnections = []NMProfile{}
	}
	f.OS = parseOSRelease(osLines)
	f.Network = f.NetworkStacks.owner()
	switch {
	case isActive(sock):
		f.SSHD = SSHDSocket
	case isActive(svc) || pid:
		f.SSHD = SSHDService
	default:
		f.SSHD = SSHDNone
	}
	return f, nil
}

// isActive reads systemctl is-active: a unit starting or reloading runs.
func isActive(state string) bool {
	return slices.Contains([]string{"active", "activating", "reloading"}, state)
}

// parseOSRelease reads os-release(5) as the manual says a program should,
// not by sourcing it: KEY=VALUE lines, the value in double or single
// quotes or bare, with \ escaping $ " \ ` in double quotes; comments and
// lines of another shape are skipped.
func parseOSRelease(lines []string) OSRelease {
	vals := map[string]string{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || strings.HasPrefix(l, "#") || strings.ContainsAny(k, " \t") {
			continue
		}
		vals[k] = unquoteOSRelease(v)
	}
	return OSRelease{ID: vals["ID"], VersionID: vals["VERSION_ID"], Codename: vals["VERSION_CODENAME"],
		PrettyName: vals["PRETTY_NAME"]}
}

func unquoteOSRelease(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("$\"\\`", v[i+1]) >= 0 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// HostFacts returns the answer of Facts{}.
func (a *Answers) HostFacts() HostFacts { return Answer[HostFacts](a, Facts{}) }

// nmTypes are nmcli's long names of the types that nm_connection and
// keyfiles call otherwise.
var nmTypes = map[string]string{"802-3-ethernet": "ethernet", "802-11-wireless": "wifi"}

// parseNMProfile reads a line of `nmcli -t -f
// NAME,UUID,TYPE,DEVICE,STATE,FILENAME connection show`: six fields split
// at each ':' that no backslash escapes; nmcli escapes ':' and '\' in a
// value as "\:" and "\\". A line of another shape is not a profile.
func parseNMProfile(line string) (NMProfile, bool) {
	var fields []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
		case c == ':':
			fields = append(fields, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	fields = append(fields, b.String())
	if len(fields) != 6 || fields[0] == "" || fields[1] == "" {
		return NMProfile{}, false
	}
	p := NMProfile{Name: fields[0], UUID: fields[1], Type: fields[2], Device: fields[3], State: fields[4], File: fields[5]}
	if t, ok := nmTypes[p.Type]; ok {
		p.Type = t
	}
	p.Persistent = strings.HasPrefix(p.File, "/etc/")
	base, inRun := strings.CutPrefix(p.File, nmRunDir)
	p.Netplan = inRun && strings.HasPrefix(base, "netplan-") && strings.HasSuffix(base, ".nmconnection") && !strings.Contains(base, "/")
	return p, true
}

// nmRunDir is where NetworkManager keeps the profiles a boot empties: its
// own automatic ones and those netplan generates.
const nmRunDir = "/run/NetworkManager/system-connections/"
