package preflight

import (
	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
)

// facts is what the probes learned about the host, as the checks read it.
type facts struct {
	login      string                // the user hako is logged in as now
	units      map[string]unitFacts  // by unit name (none without systemd)
	devices    map[string]string     // NetworkManager's devices and their states (nmcli)
	host       probe.HostFacts       // what a plan reads as host.facts (whether NetworkManager runs)
	files      map[string][]byte     // sshd, ssh.socket and sudoers configuration files
	unreadable map[string]bool       // such files hako could not read
	users      map[string]*userFacts // the login users, by name
	guards     []guard.PendingGuard  // rollbacks armed by earlier runs, not yet run (root only)
}

type unitFacts struct {
	activeState, unitFileState string
	listen                     []string // a socket's addresses
}

type userFacts struct {
	exists         bool
	groups         []string // all of them, primary included
	keys           []byte
	keysKnown      bool // keys holds ~/.ssh/authorized_keys (nil: no such file)
	keysUnreadable bool
}

// The files the checks read: sshd's configuration, ssh.socket's unit and
// drop-ins under /etc (where a socket-activated sshd listens), and the
// sudoers rules.
const factFiles = "/etc/ssh/sshd_config /etc/ssh/sshd_config.d/* /etc/systemd/system/ssh.socket " +
	"/etc/systemd/system/ssh.socket.d/*.conf /etc/sudoers /etc/sudoers.d/*"

// The units the checks look at.
var factUnits = []string{"ssh.socket"}

// Probes are the facts the checks ask of the host: the user hako is
// logged in as; the state of ssh.socket; the host's facts (probe.Facts,
// which the plan's host.facts read too, so whether NetworkManager runs is
// found once); NetworkManager's devices; sshd's, ssh.socket's and sudo's
// configuration files; the guards still armed; and for the host's user,
// its bootstrap user and the user logged in as: whether it exists, its
// groups and authorized_keys. The user task asks for the same accounts,
// so they are read once.
func Probes(h *plan.Host) []tasks.Probe {
	ps := []tasks.Probe{probe.Login{}, probe.Facts{}, probe.NetDevices{}, probe.Configs{Patterns: factFiles}, guard.Pending{}}
	for _, u := range factUnits {
		ps = append(ps, probe.Unit{Name: u})
	}
	for _, u := range factUsers(h) {
		ps = append(ps, probe.Account{Name: u})
	}
	return ps
}

// factUsers are the accounts the checks read: the host's user, its
// bootstrap user, and ("") the user hako is logged in as.
func factUsers(h *plan.Host) []string {
	users := []string{h.Conn.User}
	if h.Bootstrap != nil && h.Bootstrap.User != h.Conn.User {
		users = append(users, h.Bootstrap.User)
	}
	return append(users, "")
}

// factsOf reads the answers to Probes(h) from st.
func factsOf(h *plan.Host, st *tasks.State) *facts {
	a := st.Answers
	cf := probe.Answer[probe.ConfigFiles](a, probe.Configs{Patterns: factFiles})
	f := &facts{
		login:      probe.Answer[probe.LoginInfo](a, probe.Login{}).Name,
		units:      map[string]unitFacts{},
		devices:    probe.Answer[map[string]string](a, probe.NetDevices{}),
		host:       a.HostFacts(),
		files:      cf.Data,
		unreadable: cf.Unreadable,
		users:      map[string]*userFacts{},
		guards:     probe.Answer[[]guard.PendingGuard](a, guard.Pending{}),
	}
	for _, name := range factUnits {
		// Without systemd as PID 1, systemctl says nothing worth reading.
		if u := probe.Answer[probe.UnitInfo](a, probe.Unit{Name: name}); u.Init == "systemd" {
			f.units[name] = unitFacts{activeState: u.Active, unitFileState: u.Enabled, listen: u.Listen}
		}
	}
	for _, name := range factUsers(h) {
		acct := probe.Answer[probe.AccountInfo](a, probe.Account{Name: name})
		f.users[acct.Name] = &userFacts{exists: acct.Exists, groups: acct.Groups, keys: acct.Keys, keysKnown: acct.KeysRead,
			// A link or a file its user cannot read: hako does not read it.
			keysUnreadable: acct.KeysUnreadable || acct.KeyFile.Exists && !acct.KeysRead}
	}
	return f
}

// systemd units' states as the checks read them.
func (u unitFacts) enabled() bool {
	return u.unitFileState == "enabled" || u.unitFileState == "enabled-runtime"
}

func (u unitFacts) active() bool {
	switch u.activeState {
	case "active", "activating", "reloading":
		return true
	}
	return false
}
