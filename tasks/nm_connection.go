package tasks

import (
	"context"
	"crypto/sha1"
	_ "embed" // nm_connection.sh
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// NMConnection manages one NetworkManager connection profile, the keyfile
// /etc/NetworkManager/system-connections/NAME.nmconnection (0600
// root:root: NetworkManager ignores a keyfile others can read). hako owns
// only the keys the task sets and keeps every other line, so a connection
// another tool made (the Wi-Fi connection Raspberry Pi Imager wrote) keeps
// its SSID, PSK and uuid when the task sets its IPv4 addresses.
type NMConnection struct {
	addr        Address
	name        string
	typ         string // ethernet, wifi, pppoe; "" keeps an existing connection's
	iface       string // the interface; for pppoe the NIC the session runs on
	pppIface    string // pppoe: the PPP interface's name
	autoconnect *bool
	// autoconnectPriority: among the profiles that may come up on a device,
	// NetworkManager brings up the one of highest priority.
	autoconnectPriority *int
	ipv4                *nmIPv4
	username            string // pppoe
	password            *string
	ssid                string // wifi
	psk                 *string
	up                  bool
}

// nmIPv4 is the IPv4 addressing of a connection, stated as a whole: an
// absent gateway or dns is removed from the keyfile.
type nmIPv4 struct {
	method    string
	addresses []netip.Prefix
	gateway   netip.Addr
	dns       []netip.Addr
}

// nmConnectionsDir is where NetworkManager keeps the connections
// administrators make.
const nmConnectionsDir = "/etc/NetworkManager/system-connections"

// CheckAddressMove is the refusal of a change that moves the address
// hako is connected to now; -confirm (the rollback guard) or -allow-risky
// address-move lets it go ahead.
const CheckAddressMove = "address-move"

var nmTypes = []string{"ethernet", "wifi", "pppoe"}

// nmTypeAliases are the names keyfiles use for the task's types.
var nmTypeAliases = map[string]string{
	"ethernet": "ethernet", "802-3-ethernet": "ethernet",
	"wifi": "wifi", "802-11-wireless": "wifi",
	"pppoe": "pppoe",
}

func init() {
	register(Kind{
		Name: "nm_connection",
		Schema: &hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{
				{Name: "name", Required: true}, {Name: "type"}, {Name: "interface"}, {Name: "ppp_interface"},
				{Name: "autoconnect"}, {Name: "autoconnect_priority"}, {Name: "username"}, {Name: "password"}, {Name: "ssid"}, {Name: "psk"}, {Name: "up"},
			},
			Blocks: []hcl.BlockHeaderSchema{{Type: "ipv4"}},
		},
		BlockSchemas: map[string]*hcl.BodySchema{
			"ipv4": {Attributes: []hcl.AttributeSchema{
				{Name: "method", Required: true}, {Name: "addresses"}, {Name: "gateway"}, {Name: "dns"},
			}},
		},
		Decode:         decodeNMConnection,
		SensitiveAttrs: []string{"password", "psk"},
		NewPlanned:     func() any { return new(NMConnectionPlan) },
	})
}

// nmName: a connection name that is also a safe file name.
var nmName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}$`)

// ifaceName: what the kernel takes as an interface name (at most 15
// bytes, no '/', ':' or whitespace), narrowed to the usual characters.
var ifaceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$`)

func decodeNMConnection(a *attrs.Attrs) Task {
	n := &NMConnection{addr: Address{a.Kind, a.Name}, name: a.String("name"), typ: a.String("type"),
		iface: a.String("interface"), pppIface: a.String("ppp_interface"), up: a.Bool("up", false),
		username: a.String("username"), ssid: a.String("ssid")}
	if n.name != "" && !nmName.MatchString(n.name) {
		a.AttrErrorf("name", "Invalid connection name", "name must be 1 to 64 letters, digits, '_', '.', '@', '+' or '-', not starting with '.' or '-' (it names the file %s/NAME.nmconnection), got %q.", nmConnectionsDir, n.name)
	}
	if a.Has("type") && !slices.Contains(nmTypes, n.typ) {
		a.AttrErrorf("type", "Invalid connection type", "type must be one of %s, got %q.", strings.Join(nmTypes, ", "), n.typ)
		n.typ = ""
	}
	for _, f := range []string{"interface", "ppp_interface"} {
		if v := a.String(f); a.Has(f) && a.Items[f].Value.IsWhollyKnown() && !ifaceName.MatchString(v) {
			a.AttrErrorf(f, "Invalid interface name", "%s must be an interface name (1 to 15 letters, digits, '_', '.' or '-'), got %q.", f, v)
		}
	}
	if a.Has("autoconnect") {
		v := a.Bool("autoconnect", true)
		n.autoconnect = &v
	}
	if v, ok := a.Value("autoconnect_priority", cty.Number); ok {
		bf := v.AsBigFloat()
		p, acc := bf.Int64()
		if !bf.IsInt() || acc != 0 || p < -999 || p > 999 {
			a.AttrErrorf("autoconnect_priority", "Invalid autoconnect priority", "autoconnect_priority must be a whole number from -999 to 999 (NetworkManager's range), got %s.", bf.String())
		} else {
			n.autoconnectPriority = new(int(p))
		}
	}
	for _, f := range []string{"username", "ssid"} {
		if attrs.HasControl(a.String(f)) {
			a.AttrErrorf(f, "Invalid "+f, "%s must not contain control characters such as a newline.", f)
		}
	}
	if a.Has("password") {
		v := a.String("password")
		n.password = &v
		if a.Items["password"].Value.IsWhollyKnown() && (v == "" || attrs.HasControl(v)) {
			a.AttrErrorf("password", "Invalid password", "password must not be empty nor contain control characters (details are hidden: it is sensitive).")
		}
	}
	if a.Has("psk") {
		v := a.String("psk")
		n.psk = &v
		if a.Items["psk"].Value.IsWhollyKnown() && !validPSK(v) {
			a.AttrErrorf("psk", "Invalid Wi-Fi key", "psk must be a WPA passphrase of 8 to 63 printable ASCII characters or 64 hex digits (details are hidden: it is sensitive).")
		}
	}
	// What belongs to one type only.
	only := map[string]string{"username": "pppoe", "password": "pppoe", "ppp_interface": "pppoe", "ssid": "wifi", "psk": "wifi"}
	for _, f := range []string{"username", "password", "ppp_interface", "ssid", "psk"} {
		if a.Has(f) && n.typ != only[f] && n.typ != "" {
			a.AttrErrorf(f, "Attribute of another connection type", "%s belongs to %s connections; this one is type %q.", f, only[f], n.typ)
		} else if a.Has(f) && !a.Has("type") {
			a.AttrErrorf(f, "Missing connection type", "%s belongs to %s connections: set type = %q.", f, only[f], only[f])
		}
	}
	if n.typ == "pppoe" {
		if !a.Has("interface") {
			a.Errorf("Incomplete PPPoE connection", "set interface, the Ethernet NIC the PPPoE session runs on.")
		}
		if !a.Has("username") || !a.Has("password") {
			a.Errorf("Incomplete PPPoE connection", "set username and password, the ISP's login.")
		}
		if n.pppIface == "" {
			n.pppIface = "ppp0"
		}
	}
	if n.typ == "wifi" && n.psk != nil && n.ssid == "" {
		// A key without its network would be set on whatever network the
		// existing connection names; say which.
		a.AttrErrorf("psk", "Wi-Fi key without its network", "set ssid too: a key is for one network.")
	}
	blocks := a.Blocks["ipv4"]
	if len(blocks) > 1 {
		b := blocks[1]
		b.Diags = b.Diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate ipv4 block",
			Detail: fmt.Sprintf("In %s: a connection has one ipv4 block.", n.addr), Subject: b.Decl.Ptr()})
	}
	if len(blocks) > 0 {
		n.ipv4 = decodeNMIPv4(blocks[0])
	}
	return n
}

// validPSK: a WPA passphrase (8 to 63 printable ASCII characters) or a
// raw key (64 hex digits), as NetworkManager checks it.
func validPSK(s string) bool {
	if len(s) == 64 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == "" {
		return true
	}
	if len(s) < 8 || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

func decodeNMIPv4(a *attrs.Attrs) *nmIPv4 {
	v := &nmIPv4{method: a.String("method")}
	methods := []string{"auto", "manual", "disabled"}
	if a.Has("method") && !slices.Contains(methods, v.method) {
		a.AttrErrorf("method", "Invalid IPv4 method", "method must be one of %s, got %q.", strings.Join(methods, ", "), v.method)
	}
	for _, s := range a.Strings("addresses") {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			a.AttrErrorf("addresses", "Invalid IPv4 address", "each address is an IPv4 address with its prefix length, as 192.168.0.64/24; got %q.", s)
			continue
		case !p.Addr().Is4():
			a.AttrErrorf("addresses", "Invalid IPv4 address", "%q is not an IPv4 address (IPv6 addresses belong to ipv6).", s)
			continue
		case p.Bits() == 0:
			a.AttrErrorf("addresses", "Invalid IPv4 address", "%q has prefix length 0: write the network's, as 192.168.0.64/24.", s)
			continue
		}
		v.addresses = append(v.addresses, p)
	}
	if s := a.String("gateway"); s != "" {
		ip, err := netip.ParseAddr(s)
		if err != nil || !ip.Is4() {
			a.AttrErrorf("gateway", "Invalid IPv4 gateway", "gateway must be an IPv4 address, as 192.168.0.1; got %q.", s)
		}
		v.gateway = ip
	}
	for _, s := range a.Strings("dns") {
		ip, err := netip.ParseAddr(s)
		if err != nil || !ip.Is4() {
			a.AttrErrorf("dns", "Invalid DNS server", "each DNS server is an IPv4 address, as 192.168.0.1; got %q.", s)
			continue
		}
		v.dns = append(v.dns, ip)
	}
	switch v.method {
	case "manual":
		if len(v.addresses) == 0 && !a.Has("addresses") {
			a.AttrErrorf("addresses", "Missing IPv4 address", "method = \"manual\" needs addresses, as [\"192.168.0.64/24\"].")
		}
	case "disabled":
		for _, f := range []string{"addresses", "gateway", "dns"} {
			if a.Has(f) {
				a.AttrErrorf(f, "IPv4 is disabled", "method = \"disabled\" takes no %s.", f)
			}
		}
	}
	return v
}

func (n *NMConnection) Address() Address { return n.addr }

// path is the connection's keyfile.
func (n *NMConnection) path() string { return nmConnectionsDir + "/" + n.name + ".nmconnection" }

// nmEndpoint asks which device holds the address hako's connection
// reached, and which NetworkManager connection is active on it.
type nmEndpoint struct{}

// nmEndpointInfo is what an nmEndpoint learned; all empty when no device
// holds the address or NetworkManager does not know it.
type nmEndpointInfo struct {
	Dev, Type, UUID, ID string
}

//go:embed nm_connection.sh
var nmEndpointFunc string

func (nmEndpoint) Call() (probe.Func, []string) {
	return probe.Func{Name: "nm_endpoint", Source: nmEndpointFunc}, nil
}
func (nmEndpoint) Describe() string { return "the NetworkManager endpoint probe" }
func (nmEndpoint) Decode(recs []probe.Record) (any, error) {
	var e nmEndpointInfo
	for _, r := range recs {
		v := strings.NewReplacer(`\:`, ":", `\\`, `\`).Replace(strings.TrimSpace(string(r.Value)))
		switch r.Field {
		case "dev":
			e.Dev = v
		case "type":
			e.Type = v
		case "uuid":
			e.UUID = v
		case "id":
			e.ID = v
		default:
			return nil, fmt.Errorf("unexpected answer %q from %s", r.Field, nmEndpoint{}.Describe())
		}
	}
	return e, nil
}

func (n *NMConnection) Probes() []Probe {
	p := n.path()
	return []Probe{probe.NetDevices{}, probe.Facts{}, nmEndpoint{}, nmLoaded{Path: p},
		probe.Stat{Path: p}, probe.File{Path: p}, probe.Leftovers{Dir: path.Dir(p)}}
}

// WrittenPaths: the keyfile.
func (n *NMConnection) WrittenPaths() []string { return []string{n.path()} }

// Cuts: a connection's profile is network configuration. Written only, it
// changes nothing until the connection next comes up, but a new profile
// NetworkManager may bring up at once (autoconnect on a free device) and
// one brought up (up = true) can move or drop the address hako uses.
func (n *NMConnection) Cuts(Env) Cuts { return CutsNetwork }

// NMConnectionPlan is an nm_connection task's planned change. Change.Content
// shows only the keys the task owns, secrets as "(sensitive)"; the
// keyfile Apply writes is in Keyfile, which is never written out.
type NMConnectionPlan struct {
	Exists bool   `json:"exists"`
	Write  bool   `json:"write"`
	UUID   string `json:"uuid"`
	// Keyfile is the whole new keyfile: it may hold secrets (a PSK, a
	// password) that no output may show.
	Keyfile []byte `json:"-"`
	// Secrets: the keyfile holds secrets, so nmcli's messages about it
	// are not shown either.
	Secrets bool `json:"secrets,omitempty"`
	// Load: NetworkManager runs and is told to read the keyfile.
	Load bool `json:"load"`
	// Reload: the keyfile is as planned, but the profile NetworkManager
	// holds in memory is not what it says (a run cut short before the
	// load, a file edited by hand): it is told to read the file again.
	Reload bool `json:"reload,omitempty"`
	// Up: the connection is brought up after the write.
	Up bool `json:"up"`
	// MovesFrom is the address hako is connected to, which bringing the
	// connection up takes away; MovesTo the address it gets instead ("" when
	// DHCP chooses it or IPv4 is disabled).
	MovesFrom string `json:"moves_from,omitempty"`
	MovesTo   string `json:"moves_to,omitempty"`
	// Leftovers are temp files of an interrupted write to remove first.
	Leftovers []string `json:"leftovers,omitempty"`
}

func (n *NMConnection) Check(st *State, env Env) (*Change, error) {
	p := n.path()
	if probe.Answer[map[string]string](st.Answers, probe.NetDevices{}) == nil {
		return nil, fmt.Errorf("NetworkManager is not installed on this host (no nmcli), so %s would do nothing; use this task where NetworkManager owns the network", p)
	}
	// The host fact, which preflight and the plan's host.facts read too.
	running := st.HostFacts().NetworkStacks.NetworkManager
	fi := st.Stat(p)
	var old []byte
	if fi.Exists {
		got := st.Content(p)
		switch {
		case fi.Type != "regular file":
			return nil, fmt.Errorf("%s exists and is a %s, not a regular file", p, fi.Type)
		case !got.Readable:
			return nil, fmt.Errorf("%s cannot be read (larger than %d bytes, or not readable)", p, MaxRead)
		}
		old = got.Data
	}
	lines := parseKeyfile(old)
	typ := n.typ
	if v, ok := kfGet(lines, "connection", "type"); ok {
		have := nmTypeAliases[kfUnescape(v)]
		switch {
		case typ == "" && have == "":
			return nil, fmt.Errorf("%s is a %q connection, which this task does not manage (it manages %s)", p, kfUnescape(v), strings.Join(nmTypes, ", "))
		case typ == "":
			typ = have
		case typ != have:
			return nil, fmt.Errorf("%s is a %q connection, not %s: hako does not change a connection's type (remove the file, or name another connection)", p, kfUnescape(v), typ)
		}
	} else if typ == "" {
		return nil, fmt.Errorf("%s does not exist (or names no type): set type to create the connection", p)
	}
	if err := n.checkComplete(typ, lines); err != nil {
		return nil, err
	}
	uuid, ok := kfGet(lines, "connection", "uuid")
	uuid = kfUnescape(uuid)
	if !ok || uuid == "" {
		uuid = nmUUID(n.name)
	}
	want := n.wanted(typ, uuid, old == nil)

	d := &NMConnectionPlan{Exists: fi.Exists, UUID: uuid, Load: running}
	c := &Change{Address: n.addr, Planned: d}
	d.Keyfile = mergeKeyfile(old, want)
	c.Attrs = metaChanges(fi, 0o600, "root", "root")
	if !fi.Exists || string(d.Keyfile) != string(old) {
		c.Content = NewContentChange(p+" (the keys hako manages)", keyfileView(old, want), wantView(old, want), false)
	}
	d.Write = !fi.Exists || c.Content != nil || len(c.Attrs) > 0
	d.Secrets = n.password != nil || n.psk != nil || hasSecrets(lines)
	if lo := st.Leftovers(path.Dir(p)); lo.RootOnly {
		d.Leftovers = lo.Of(p)
		for _, t := range d.Leftovers {
			c.Attrs = append(c.Attrs, AttrChange{"leftover temp file", t, ""})
		}
	}
	var held *nmLoadedProfile
	if !d.Write && running {
		held = n.checkLoaded(st, typ, uuid, d, c)
	}
	what := n.name + " (" + typ + ")"
	switch {
	case !fi.Exists:
		c.Action, c.Summary = Create, "create connection "+what
	case d.Write:
		c.Action, c.Summary = Update, "update connection "+what
	case d.Reload && held.UUID == "":
		c.Action, c.Summary = Update, "load connection "+what+": NetworkManager holds no profile from the keyfile"
	case d.Reload:
		c.Action, c.Summary = Update, "reload connection "+what+": NetworkManager holds an older profile"
	case len(d.Leftovers) > 0:
		c.Action, c.Summary = Update, p+": remove leftover temp file(s)"
	default:
		c.Summary = "connection " + what
	}
	if !d.Write && !d.Reload {
		return c, nil
	}
	switch {
	case n.up && !running:
		return nil, fmt.Errorf("up = true, but NetworkManager is not running, so %s cannot be brought up now", n.name)
	case n.up:
		d.Up = true
		c.Summary += "; brought up now"
		n.checkMove(st, env, typ, lines, held, d, c)
	case !running:
		c.Summary += "; NetworkManager is not running: it reads the keyfile when it starts"
	default:
		c.Summary += "; applies when the connection next comes up (reboot, reconnect; up = false)"
	}
	return c, nil
}

// checkLoaded compares, when the keyfile is as planned, the profile
// NetworkManager holds from it with what it says, and plans a reload when
// they differ or NetworkManager holds none: the file alone does not say
// what the host runs by. The fields that differ are shown (never a
// secret: those are not compared). It returns the profile held when a
// reload is planned, else nil.
func (n *NMConnection) checkLoaded(st *State, typ, uuid string, d *NMConnectionPlan, c *Change) *nmLoadedProfile {
	lp := probe.Answer[nmLoadedProfile](st.Answers, nmLoaded{Path: n.path()})
	if !lp.Known {
		return nil
	}
	if lp.UUID == "" {
		d.Reload = true
		return &lp
	}
	if diff := n.loadedDiff(typ, uuid, lp); len(diff) > 0 {
		d.Reload = true
		c.Attrs = append(c.Attrs, diff...)
		return &lp
	}
	return nil
}

// checkComplete refuses to create a connection NetworkManager would not
// load: a new Wi-Fi connection needs its network, a new PPPoE one its NIC
// and login (the decoder asks for those).
func (n *NMConnection) checkComplete(typ string, lines []kfLine) error {
	if typ == "wifi" && n.ssid == "" {
		if _, ok := kfGet(lines, "wifi", "ssid"); !ok {
			return fmt.Errorf("%s: a new Wi-Fi connection needs ssid (and psk for a WPA network)", n.path())
		}
	}
	if typ == "pppoe" && n.typ != "pppoe" {
		return fmt.Errorf("%s is a PPPoE connection: set interface, username and password (and type = \"pppoe\")", n.path())
	}
	return nil
}

// hasSecrets: the keyfile holds a key NetworkManager keeps secrets in.
func hasSecrets(lines []kfLine) bool {
	for _, l := range lines {
		if l.key != "" && (strings.Contains(l.key, "psk") || strings.Contains(l.key, "password") ||
			strings.HasPrefix(l.key, "wep-key") || l.group == "vpn-secrets") {
			return true
		}
	}
	return false
}

// checkMove says in the plan when bringing the connection up now may take
// away the address hako is connected to, and refuses it (check
// address-move): the run cannot go on over a connection the change cuts,
// and only the rollback guard (-confirm) brings the host back if the new
// address does not work. A connection bears on hako's address when it is
// the profile active on hako's device, or would come up on that device
// (its interface, or its type when it names none; any PPPoE connection
// while hako is on a PPP device, whose interface is the NIC it dials over).
// held is the profile NetworkManager holds when only a reload is planned:
// the file is as planned already, and what the connection runs by now is
// that profile, not the file.
func (n *NMConnection) checkMove(st *State, env Env, typ string, lines []kfLine, held *nmLoadedProfile, d *NMConnectionPlan, c *Change) {
	server, err := netip.ParseAddr(env.Endpoint.ServerAddr)
	if err != nil {
		return // a local run
	}
	server = server.Unmap()
	e := probe.Answer[nmEndpointInfo](st.Answers, nmEndpoint{})
	if e.Dev == "" {
		return // no device here holds it (a NAT in between, a jump host)
	}
	iface := n.iface
	if typ != "pppoe" && iface == "" {
		v, _ := kfGet(lines, "connection", "interface-name")
		iface = kfUnescape(v)
	}
	active := e.UUID != "" && e.UUID == d.UUID || e.UUID == "" && e.ID == n.name
	carries := active || iface == e.Dev ||
		iface == "" && nmDeviceType(typ) == e.Type ||
		typ == "pppoe" && e.Type == "ppp"
	if !carries || n.keepsAddress(server, active, typ, lines, held) {
		return
	}
	var to string
	dest := "an address it may not keep"
	switch {
	case typ == "pppoe":
		dest = "a new PPPoE session's address"
	case n.ipv4 != nil && n.ipv4.method == "manual":
		to = n.ipv4.addresses[0].Addr().String()
		dest = to
	case n.ipv4 != nil && n.ipv4.method == "disabled":
		dest = "no IPv4 address"
	case n.ipv4 != nil && n.ipv4.method == "auto":
		dest = "a DHCP address"
	}
	d.MovesFrom, d.MovesTo = server.String(), to
	c.Summary += fmt.Sprintf("; moves hako's address %s (%s) to %s", server, e.Dev, dest)
	c.Refusals = append(c.Refusals, &Refusal{Check: CheckAddressMove,
		Reason: fmt.Sprintf("bringing %s up now moves hako's address %s (%s) to %s: apply -confirm does it under the rollback guard; up = false waits for the next boot",
			n.name, server, e.Dev, dest)})
}

// keepsAddress: bringing the connection up, on the device that holds
// hako's address, leaves that address in place. A PPPoE connection dials
// again (a new address, or none if the dial fails); a Wi-Fi connection
// given another network or key may not join again; another profile than
// the active one replaces it, so it keeps the address only when it holds
// it as a static one. The active profile keeps it when its IPv4 stays as
// it is, stays on DHCP (the same lease again) or holds it as a static
// address. The task manages IPv4 only: over IPv6, the active profile's
// addresses are as before, another profile's are not known. With held
// (a reload of a file already as planned), the held profile is what the
// connection runs by: none held is another profile, and its network and
// method are the ones compared (its key is not known: never asked).
func (n *NMConnection) keepsAddress(server netip.Addr, active bool, typ string, lines []kfLine, held *nmLoadedProfile) bool {
	if typ == "pppoe" || typ == "wifi" && n.wifiChanges(lines) {
		return false
	}
	heldMethod, _ := kfIPv4(lines)
	if held != nil {
		if held.UUID == "" {
			active = false
		}
		ssid, _ := kfGet(lines, "wifi", "ssid")
		if typ == "wifi" && held.Fields["802-11-wireless.ssid"] != kfUnescape(ssid) {
			return false
		}
		heldMethod = held.Fields["ipv4.method"]
	}
	method, addrs := kfIPv4(lines)
	if n.ipv4 != nil {
		method, addrs = n.ipv4.method, n.ipv4.addresses
	}
	if !server.Is4() {
		return active
	}
	switch method {
	case "manual":
		return slices.ContainsFunc(addrs, func(p netip.Prefix) bool { return p.Addr() == server })
	case "auto":
		return active && len(lines) > 0 && heldMethod == "auto"
	}
	return false
}

// wifiChanges: the task gives the Wi-Fi connection a network or key other
// than the keyfile's.
func (n *NMConnection) wifiChanges(lines []kfLine) bool {
	if n.ssid != "" {
		if v, ok := kfGet(lines, "wifi", "ssid"); !ok || kfUnescape(v) != n.ssid {
			return true
		}
	}
	if n.psk != nil {
		if v, ok := kfGet(lines, "wifi-security", "psk"); !ok || kfUnescape(v) != *n.psk {
			return true
		}
	}
	return false
}

// kfIPv4 is the keyfile's IPv4 method ("auto" when it sets none, as
// NetworkManager reads it) and its static addresses (address1=..., the
// prefix before an optional gateway).
func kfIPv4(lines []kfLine) (string, []netip.Prefix) {
	method := "auto"
	if v, ok := kfGet(lines, "ipv4", "method"); ok {
		method = kfUnescape(v)
	}
	var addrs []netip.Prefix
	for _, l := range lines {
		if l.group != "ipv4" || !strings.HasPrefix(l.key, "address") {
			continue
		}
		v, _, _ := strings.Cut(kfUnescape(l.value), ",")
		if p, err := netip.ParsePrefix(strings.TrimSpace(v)); err == nil {
			addrs = append(addrs, p)
		}
	}
	return method, addrs
}

// nmDeviceType is the type NetworkManager gives a device a connection of
// this type comes up on.
func nmDeviceType(typ string) string {
	if typ == "pppoe" {
		return "ppp"
	}
	return typ
}

// wanted is what the task sets, group by group, in the order a new
// keyfile has them.
func (n *NMConnection) wanted(typ, uuid string, fresh bool) []kfGroup {
	conn := kfGroup{name: "connection", entries: []kfEntry{{"id", kfEscape(n.name)}, {"uuid", uuid}, {"type", typ}},
		same: func(k, have, want string) bool {
			if k == "type" {
				return nmTypeAliases[kfUnescape(have)] == want
			}
			return kfUnescape(have) == kfUnescape(want)
		}}
	owned := []string{"id", "uuid", "type"}
	switch {
	case typ == "pppoe":
		conn.entries = append(conn.entries, kfEntry{"interface-name", n.pppIface})
		owned = append(owned, "interface-name")
	case n.iface != "":
		conn.entries = append(conn.entries, kfEntry{"interface-name", n.iface})
		owned = append(owned, "interface-name")
	}
	if n.autoconnect != nil {
		conn.entries = append(conn.entries, kfEntry{"autoconnect", fmt.Sprint(*n.autoconnect)})
		owned = append(owned, "autoconnect")
		base := conn.same
		conn.same = func(k, have, want string) bool {
			if k == "autoconnect" {
				h, ok := kfBool(have)
				w, _ := kfBool(want)
				return ok && h == w
			}
			return base(k, have, want)
		}
	}
	if n.autoconnectPriority != nil {
		conn.entries = append(conn.entries, kfEntry{"autoconnect-priority", strconv.Itoa(*n.autoconnectPriority)})
		owned = append(owned, "autoconnect-priority")
	}
	conn.owns = func(k string) bool { return slices.Contains(owned, k) }
	out := []kfGroup{conn}
	plain := func(k, have, want string) bool { return kfUnescape(have) == kfUnescape(want) }
	switch typ {
	case "ethernet":
		if fresh {
			out = append(out, kfGroup{name: "ethernet", owns: func(string) bool { return false }})
		}
	case "wifi":
		var wifi []kfEntry
		if n.ssid != "" {
			wifi = append(wifi, kfEntry{"ssid", kfEscape(n.ssid)})
		}
		if fresh {
			wifi = append(wifi, kfEntry{"mode", "infrastructure"})
		}
		out = append(out, kfGroup{name: "wifi", entries: wifi, same: plain,
			owns: func(k string) bool { return slices.ContainsFunc(wifi, func(e kfEntry) bool { return e.key == k }) }})
		if n.psk != nil {
			out = append(out, kfGroup{name: "wifi-security", entries: []kfEntry{{"key-mgmt", "wpa-psk"}, {"psk", kfEscape(*n.psk)}},
				same: plain, secret: map[string]bool{"psk": true},
				owns: func(k string) bool { return k == "key-mgmt" || k == "psk" }})
		}
	case "pppoe":
		if fresh {
			out = append(out, kfGroup{name: "ethernet", owns: func(string) bool { return false }})
		}
		ppp := []kfEntry{{"parent", n.iface}, {"username", kfEscape(n.username)}}
		if n.password != nil {
			ppp = append(ppp, kfEntry{"password", kfEscape(*n.password)})
		}
		out = append(out, kfGroup{name: "pppoe", entries: ppp, same: plain, secret: map[string]bool{"password": true},
			owns: func(k string) bool { return k == "parent" || k == "username" || k == "password" }})
	}
	if n.ipv4 != nil {
		out = append(out, n.ipv4.group())
	}
	return out
}

// group is the [ipv4] keys of the addressing: method, address1..N,
// gateway and dns. Any other spelling of the addresses (addresses=,
// address=, an old address1=ADDR,GATEWAY) is replaced.
func (v *nmIPv4) group() kfGroup {
	e := []kfEntry{{"method", v.method}}
	for i, a := range v.addresses {
		e = append(e, kfEntry{fmt.Sprintf("address%d", i+1), a.String()})
	}
	if v.gateway.IsValid() {
		e = append(e, kfEntry{"gateway", v.gateway.String()})
	}
	if len(v.dns) > 0 {
		var s []string
		for _, d := range v.dns {
			s = append(s, d.String()+";")
		}
		e = append(e, kfEntry{"dns", strings.Join(s, "")})
	}
	return kfGroup{name: "ipv4", entries: e,
		owns: func(k string) bool {
			return k == "method" || k == "gateway" || k == "dns" || nmAddressKey.MatchString(k)
		},
		same: func(k, have, want string) bool {
			if k == "dns" {
				return slices.Equal(kfList(have), kfList(want))
			}
			return strings.TrimSpace(have) == want
		}}
}

var nmAddressKey = regexp.MustCompile(`^address(es)?[0-9]*$`)

// nmUUID is the uuid of a connection hako creates: derived from its name
// (a version 5 UUID in a namespace of hako's own), so that plan and apply
// agree and a rerun of a plan read back from JSON names the same uuid.
func nmUUID(name string) string {
	ns := []byte("hako nm_connection\x00")
	h := sha1.Sum(append(ns, name...))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Apply removes leftovers of an interrupted write, writes the keyfile
// (0600 root:root, atomically) unless only NetworkManager's profile is
// behind it (Reload), has NetworkManager read it (nmcli
// connection load, which changes nothing that is active) and, with up =
// true, brings the connection up; unless that moves hako's address: the
// run does that last (Move).
func (n *NMConnection) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	d := c.Planned.(*NMConnectionPlan)
	p := n.path()
	if len(d.Leftovers) > 0 {
		if err := removeLeftovers(ctx, h, p, d.Leftovers); err != nil {
			return err
		}
	}
	if !d.Write && !d.Reload {
		return nil
	}
	if d.Write && d.Keyfile == nil {
		return fmt.Errorf("the plan has no keyfile for %s", p)
	}
	if d.Write {
		if err := h.WriteFile(ctx, hosts.FileWrite{Path: p, Content: d.Keyfile, Mode: 0o600, Owner: "root", Group: "root"}); err != nil {
			return err
		}
	}
	if !d.Load {
		return nil
	}
	// nmcli connection load exits 0 also when NetworkManager refuses the
	// file: only the profiles it then holds tell whether it took it.
	load := "nmcli connection load " + hosts.Quote(p) + " && nmcli -t -f UUID,FILENAME connection show | grep -qxF " + hosts.Quote(d.UUID+":"+p)
	if err := n.nmcli(ctx, h, d, load, "loading "+p); err != nil {
		return err
	}
	if !d.Up || d.MovesFrom != "" {
		return nil
	}
	return n.nmcli(ctx, h, d, "nmcli --wait 90 connection up uuid "+hosts.Quote(d.UUID), "bringing "+n.name+" up")
}

// Move: bringing up a connection that moves hako's address ends the
// session, so the run does it after everything else.
func (n *NMConnection) Move(c *Change) (cmd, to string) {
	d, ok := c.Planned.(*NMConnectionPlan)
	if !ok || !d.Up || d.MovesFrom == "" {
		return "", ""
	}
	return "nmcli --wait 90 connection up uuid " + hosts.Quote(d.UUID), d.MovesTo
}

// nmcli runs an nmcli command. Its messages about a keyfile that holds
// secrets are not shown: they may quote a value.
func (n *NMConnection) nmcli(ctx context.Context, h hosts.Host, d *NMConnectionPlan, cmd, what string) error {
	res, err := h.Run(ctx, cmd)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case res.ExitCode == 0:
		return nil
	case res.ExitCode == 1 && len(res.Stderr) == 0:
		// grep found no profile of the file (nmcli's errors go to stderr).
		return fmt.Errorf("%s: NetworkManager did not take the keyfile (`journalctl -u NetworkManager` on the host says why)", what)
	case d.Secrets:
		return fmt.Errorf("%s: nmcli failed with exit code %d (its messages are hidden: the connection holds secrets; `journalctl -u NetworkManager` on the host says why)", what, res.ExitCode)
	}
	return fmt.Errorf("%s: exit status %d: %s", what, res.ExitCode, tail(res.Stderr, res.Stdout))
}
