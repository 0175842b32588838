package tasks

import (
	"strings"

	"github.com/hako-dev/hako/hosts"
	"golang.org/x/crypto/ssh"
)

// What a task can do to hako's own way into the host is told by the
// optional interfaces below, which a kind implements when they apply to
// it. The run's policy (run/policy.go) reads them, never a kind's name or
// type: a new kind that writes sshd's configuration or the firewall is
// guarded by implementing them, and one that does not implement them is
// taken to cut nothing.

// Cuts is what a task can cut if it is wrong: the ways hako reaches the
// host and becomes root there. A bit set, for tasks that touch several.
type Cuts uint8

const (
	// CutsSSH: sshd, its socket and service units, PAM and TCP wrappers,
	// the keys of a user hako logs in as.
	CutsSSH Cuts = 1 << iota
	// CutsNetwork: the network configuration (interfaces, DHCP, Wi-Fi).
	CutsNetwork
	// CutsSudo: sudo's configuration, hako's way to root.
	CutsSudo
	// CutsFirewall: the packet filter (ufw, nftables, iptables).
	CutsFirewall
)

// String names the bits, e.g. "ssh+sudo"; "nothing" for none.
func (c Cuts) String() string {
	var out []string
	for i, n := range []string{"ssh", "network", "sudo", "firewall"} {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, "+")
}

// Env is what Check needs to know about the run, besides the host's
// State: the connection it must not cut and the port move in progress.
type Env struct {
	// Endpoint is the SSH connection the run uses, as the host sees it
	// (zero for a local host).
	Endpoint hosts.Endpoint
	// MoveTo is the SSH port the plan moves the host to while hako is
	// connected through the host's bootstrap settings (0 otherwise).
	MoveTo int
	// LoginUsers are the users hako logs in as: the host's user and, while
	// connected through the bootstrap settings, the bootstrap user.
	LoginUsers []string
}

// PathWriter is a task that creates, replaces or removes paths on the
// host. Before a guarded change the guard snapshots the paths of the
// tasks that can cut something (Cutter), and a rollback restores them.
type PathWriter interface {
	// WrittenPaths are absolute, clean paths; a folder stands for its tree.
	WrittenPaths() []string
}

// Confined is a PathWriter whose Apply changes nothing on the host but
// its WrittenPaths: no command run, no service told, no user added. After
// such a task changes, apply keeps the checks of the later tasks that
// read none of these paths (and asks the host again only for those that
// do); after any other task changes, every later task is checked again
// (run/effects.go). A kind that is not sure must not implement it, or
// return false.
type Confined interface {
	PathWriter
	// Confined reports whether this task's Apply is confined to its
	// paths, and whether it may also create missing folders above them
	// (as mkdir -p does).
	Confined() (confined, createsFolders bool)
}

// FolderUser is a task that writes into a folder it does not create
// (NeedsFolder, an absolute clean path). When the folder is missing on the
// host, plan fails the task unless an earlier task may create it: one that
// writes that very path (PathWriter), or one whose effects on the file
// system are not known (a package, a command), which apply then proves.
type FolderUser interface {
	NeedsFolder() string
}

// Cutter is a task that can cut hako's way into the host (Cuts) if it is
// wrong. A kind that does not implement it cuts nothing as far as the
// policy knows; a kind whose effect cannot be judged (a command) says so
// in its documentation rather than guess.
type Cutter interface {
	Cuts(env Env) Cuts
}

// PlannedFile is a task that writes one file with content known from the
// plan, which the lockout checks read as the host will have it.
type PlannedFile interface {
	ManagedPath() string
	// PlannedContent is the content, and whether it derives from a
	// sensitive value (then it must not be shown).
	PlannedContent() (content []byte, sensitive bool)
}

// Account is a task that manages a local user account, as the lockout
// checks need it: whether hako can still log in as that user and become
// root through it.
type Account interface {
	Address() Address
	Name() string
	Present() bool
	Groups() []string
	ExclusiveGroups() bool
	AuthorizedKeys() []ssh.PublicKey
	ExclusiveKeys() bool
	GrantsSudo() (managed bool, grants bool)
}

// Firewall is a task that manages the host's packet filter as a whole.
type Firewall interface {
	// FirewallFiles are the files the firewall keeps its configuration
	// in; the guard snapshots them, and the filter's state, with any
	// other rules files in its folder.
	FirewallFiles() []string
}

// AddressMover is a task whose change can move the address hako is
// connected to (a network connection brought up with other addresses).
// Its Apply writes the configuration and leaves the move to the run,
// which makes it after every other task and handler, detached from the
// session the move ends, and then logs in again.
type AddressMover interface {
	// Move is, for a change Check returned, the shell command that makes
	// the move, and the address the host answers on afterwards ("" when
	// it is not known: DHCP chooses it); cmd is "" when the change moves
	// nothing.
	Move(c *Change) (cmd, to string)
}

// LeftoverWarner is a task that writes through temp files next to its
// path and can say which temp files of an interrupted write it leaves
// there (in a folder another user can write, where root must not remove
// things by path); preflight shows that as a warning.
type LeftoverWarner interface {
	// LeftoverWarning is the warning, "" when there is nothing to say.
	LeftoverWarning(s *State) string
}

// PathCuts says what a file or folder at p can cut if it is wrong. The
// lists are the configuration of sshd, PAM, TCP wrappers, the firewalls,
// the network and sudo on Debian and its derivatives.
func PathCuts(p string) Cuts {
	var c Cuts
	for _, r := range pathRisks {
		folder := strings.HasSuffix(r.path, "/")
		if p == r.path || folder && (strings.HasPrefix(p, r.path) || p+"/" == r.path) ||
			r.prefix && strings.HasPrefix(p, r.path) {
			c |= r.cuts
		}
	}
	return c
}

// pathRisks: a path ending in "/" is a folder and stands for itself and
// all beneath it; prefix matches any path that starts with it (/etc/nftables.conf and
// /etc/nftables.d/).
var pathRisks = []struct {
	path   string
	prefix bool
	cuts   Cuts
}{
	{path: "/etc/ssh/", cuts: CutsSSH},
	{path: "/etc/systemd/system/ssh.socket.d/", cuts: CutsSSH},
	{path: "/etc/systemd/system/ssh.service.d/", cuts: CutsSSH},
	{path: "/etc/systemd/system/ssh.service", cuts: CutsSSH},
	{path: "/etc/systemd/system/ssh.socket", cuts: CutsSSH},
	{path: "/etc/default/ssh", cuts: CutsSSH},
	{path: "/etc/pam.d/", cuts: CutsSSH},
	{path: "/etc/hosts.allow", cuts: CutsSSH},
	{path: "/etc/hosts.deny", cuts: CutsSSH},
	{path: "/etc/ufw/", cuts: CutsFirewall},
	{path: "/etc/default/ufw", cuts: CutsFirewall},
	{path: "/etc/nftables", prefix: true, cuts: CutsFirewall},
	{path: "/etc/iptables/", cuts: CutsFirewall},
	{path: "/etc/network/", cuts: CutsNetwork},
	{path: "/etc/netplan/", cuts: CutsNetwork},
	{path: "/etc/systemd/network/", cuts: CutsNetwork},
	{path: "/etc/NetworkManager/", cuts: CutsNetwork},
	{path: "/etc/wpa_supplicant/", cuts: CutsNetwork},
	{path: "/etc/dhcpcd.conf", cuts: CutsNetwork},
	{path: "/etc/sudoers.d/", cuts: CutsSudo},
	{path: "/etc/sudoers", cuts: CutsSudo},
}
