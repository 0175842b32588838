package run

import (
	"errors"
	"slices"
	"strings"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/tasks"
)

// The policy: what the run does about the ways a plan can cut hako off,
// decided here alone from what the tasks say of themselves (tasks.Cutter,
// tasks.PathWriter, tasks.Firewall) and from their checked changes:
// which refusals stand, whether -confirm arms the guard and what the guard
// snapshots and restarts.

// guarded is what the guard must save for a task: the paths it writes and
// the firewall's files, when the task can cut something. ok is false for a
// task that cuts nothing, or whose effect the guard could not undo (it
// writes nothing the rollback restores).
func guarded(t tasks.Task, env tasks.Env) (paths, firewall []string, ok bool) {
	c, isCutter := t.(tasks.Cutter)
	if !isCutter || c.Cuts(env) == 0 {
		return nil, nil, false
	}
	if w, isWriter := t.(tasks.PathWriter); isWriter {
		paths = w.WrittenPaths()
	}
	if f, isFirewall := t.(tasks.Firewall); isFirewall {
		firewall = f.FirewallFiles()
	}
	return paths, firewall, len(paths) > 0 || len(firewall) > 0
}

// armsGuard reports whether, with -confirm, this run changes something
// that can cut hako off and that the guard can restore (a file under
// /etc/ssh, network or sudo configuration, a user's sudo rule, the
// firewall), judged from the checked changes.
func armsGuard(steps []*plan.Step, changes map[*plan.Step]*tasks.Change, env tasks.Env) bool {
	for _, s := range steps {
		if c := changes[s]; c == nil || !c.Changed() {
			continue
		}
		if _, _, ok := guarded(s.Task, env); ok {
			return true
		}
	}
	return false
}

// guardRequest is what the guard saves and restarts for these tasks: the
// paths of every task that can cut hako off, changed in the first checks
// or not (a later task may change after an earlier one), the firewall,
// and the services that read them.
func guardRequest(steps []*plan.Step, env tasks.Env) NetRequest {
	r := NetRequest{Restart: []string{"ssh"}}
	socket := false
	for _, s := range steps {
		paths, firewall, ok := guarded(s.Task, env)
		if !ok {
			continue
		}
		for _, p := range paths {
			r.Paths = append(r.Paths, p)
			r.Reapply = appendNetworkService(r.Reapply, p)
			// A socket-activated sshd listens where ssh.socket says.
			socket = socket || strings.HasPrefix(p, "/etc/systemd/system/ssh.socket.d/")
		}
		r.UFW = append(r.UFW, firewall...)
	}
	if socket {
		r.Restart = append(r.Restart, "ssh.socket")
	}
	return r
}

// networkServices re-read the files under each path: a rollback by the
// timer restarts them (if running) so that the old network is live again.
var networkServices = []struct{ path, service string }{
	{"/etc/dhcpcd.conf", "dhcpcd"}, {"/etc/network/", "networking"}, {"/etc/systemd/network/", "systemd-networkd"},
	{"/etc/NetworkManager/", "NetworkManager"}, {"/etc/wpa_supplicant/", "wpa_supplicant"},
}

// appendNetworkService adds the network service that reads path, once.
func appendNetworkService(services []string, path string) []string {
	for _, ns := range networkServices {
		folder := strings.HasSuffix(ns.path, "/")
		if (path == ns.path || folder && (strings.HasPrefix(path, ns.path) || path+"/" == ns.path)) && !slices.Contains(services, ns.service) {
			return append(services, ns.service)
		}
	}
	return services
}

// splitRefusals decides which refusals stand: those whose check the run
// does not override (overrides), and those no run may override. The
// others come back as warnings that say they were overridden.
func splitRefusals(found []preflight.Finding, allow map[string]bool, guarded bool) (stand, overridden []preflight.Finding) {
	for _, f := range found {
		if overrides(f.Check, allow, guarded) {
			f.Overridden = true
			f.Guarded = !allow[f.Check]
			overridden = append(overridden, f)
		} else {
			stand = append(stand, f)
		}
	}
	return stand, overridden
}

// overrides reports whether the run overrides a refusal of check: one
// -allow-risky names, or, with -confirm (guarded), a move of the address
// hako is connected to. The guard armed for that change rolls the host
// back unless hako logs in again over a new connection, so -confirm is
// the explicit consent the move needs; a refusal with no check stands.
func overrides(check string, allow map[string]bool, guarded bool) bool {
	return check != "" && (allow[check] || guarded && check == tasks.CheckAddressMove)
}

// recheck is a task's Check after a change, as apply runs it: against the
// new state, with the refusals that stand as its error (the survey
// refused nothing, but a port move's second pass checks against another
// connection).
func (a *hostApply) recheck(s *plan.Step, st *tasks.State) (*tasks.Change, error) {
	c, err := check(a.host.Name, s, st, a.conn.env(a.host, st))
	if err != nil {
		return nil, err
	}
	var stand []error
	for _, r := range c.Refusals {
		if !overrides(r.Check, a.conn.allow, a.conn.guarded) {
			stand = append(stand, r)
		}
	}
	switch len(stand) {
	case 0:
		return c, nil
	case 1:
		return nil, stand[0]
	}
	return nil, errors.Join(stand...)
}
