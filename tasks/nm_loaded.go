package tasks

import (
	_ "embed" // nm_loaded.sh
	"fmt"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/probe"
)

// nmLoaded asks what NetworkManager holds in memory for the keyfile Path:
// the file on disk is not what the host runs by until NetworkManager has
// read it (nmcli connection load), and a run cut short between the two,
// or a file edited by hand, leaves them apart. All the nm_connection
// tasks of a host are asked in one call (two nmcli processes in all).
type nmLoaded struct{ Path string }

// nmLoadedProfile is what an nmLoaded learned.
type nmLoadedProfile struct {
	// Known: NetworkManager answered. Where it does not run (or nmcli is
	// missing) there is no profile in memory to compare: it reads the
	// keyfiles when it starts.
	Known bool
	// UUID of the profile NetworkManager read from the file; "" when it
	// holds none (never loaded, or refused).
	UUID string
	// Fields are the profile's values as `nmcli -t` prints them, by
	// nmcli's field name (ipv4.addresses: "10.0.0.5/24, 10.0.0.6/24").
	// No secret is among them: hako never asks nmcli for one.
	Fields map[string]string
}

//go:embed nm_loaded.sh
var nmLoadedFunc string

func (r nmLoaded) Call() (probe.Func, []string) {
	return probe.Func{Name: "nm_loaded", Source: nmLoadedFunc, Batch: true}, []string{r.Path}
}
func (r nmLoaded) Describe() string { return "the NetworkManager profile of " + r.Path }

// Fresh: a host where nothing answers (a unit test's fresh host) has no
// NetworkManager to compare with.
func (nmLoaded) Fresh() any { return nmLoadedProfile{} }

func (r nmLoaded) Decode(recs []probe.Record) (any, error) {
	p := nmLoadedProfile{Known: true, Fields: map[string]string{}}
	for _, rec := range recs {
		v := string(rec.Value)
		switch rec.Field {
		case "unknown":
			return nmLoadedProfile{}, nil
		case "none":
		case "uuid":
			p.UUID = v
		case "f":
			k, val, ok := strings.Cut(v, ":")
			if !ok {
				return nil, fmt.Errorf("unexpected line %q from %s", v, r.Describe())
			}
			p.Fields[k] = val
		default:
			return nil, fmt.Errorf("unexpected answer %q from %s", rec.Field, r.Describe())
		}
	}
	if p.UUID != "" && p.Fields["connection.uuid"] != p.UUID {
		// The profile went away between nmcli's two answers, and the
		// lines are another's: nothing is known.
		return nmLoadedProfile{}, nil
	}
	return p, nil
}

// nmLongTypes are nmcli's names of the types the task calls otherwise.
var nmLongTypes = map[string]string{"ethernet": "802-3-ethernet", "wifi": "802-11-wireless"}

// loadedFields is what NetworkManager's profile must hold once it has
// read the keyfile the task plans: the values the task sets, by nmcli's
// field names and as nmcli prints them. Secrets (psk, password) are not
// among them: nmcli shows them only when asked with --show-secrets, which
// hako never does, so a changed secret alone is not seen here.
func (n *NMConnection) loadedFields(typ, uuid string) [][2]string {
	long := typ
	if l, ok := nmLongTypes[typ]; ok {
		long = l
	}
	f := [][2]string{{"connection.uuid", uuid}, {"connection.id", n.name}, {"connection.type", long}}
	switch {
	case typ == "pppoe":
		f = append(f, [2]string{"connection.interface-name", n.pppIface})
	case n.iface != "":
		f = append(f, [2]string{"connection.interface-name", n.iface})
	}
	if n.autoconnect != nil {
		f = append(f, [2]string{"connection.autoconnect", map[bool]string{true: "yes", false: "no"}[*n.autoconnect]})
	}
	if n.autoconnectPriority != nil {
		f = append(f, [2]string{"connection.autoconnect-priority", strconv.Itoa(*n.autoconnectPriority)})
	}
	if typ == "wifi" && n.ssid != "" {
		f = append(f, [2]string{"802-11-wireless.ssid", n.ssid})
	}
	if typ == "wifi" && n.psk != nil {
		f = append(f, [2]string{"802-11-wireless-security.key-mgmt", "wpa-psk"})
	}
	if typ == "pppoe" {
		f = append(f, [2]string{"pppoe.parent", n.iface}, [2]string{"pppoe.username", n.username})
	}
	if v := n.ipv4; v != nil {
		var addrs, dns []string
		for _, a := range v.addresses {
			addrs = append(addrs, a.String())
		}
		for _, d := range v.dns {
			dns = append(dns, d.String())
		}
		gw := ""
		if v.gateway.IsValid() {
			gw = v.gateway.String()
		}
		f = append(f, [2]string{"ipv4.method", v.method}, [2]string{"ipv4.addresses", strings.Join(addrs, ", ")},
			[2]string{"ipv4.gateway", gw}, [2]string{"ipv4.dns", strings.Join(dns, ",")})
	}
	return f
}

// loadedDiff compares NetworkManager's profile with the values the
// keyfile holds: one AttrChange for each field that differs ("loaded
// ipv4.addresses", what NetworkManager holds, what the file says).
func (n *NMConnection) loadedDiff(typ, uuid string, lp nmLoadedProfile) []AttrChange {
	var out []AttrChange
	for _, f := range n.loadedFields(typ, uuid) {
		if have := lp.Fields[f[0]]; have != f[1] {
			out = append(out, AttrChange{"loaded " + f[0], have, f[1]})
		}
	}
	return out
}
