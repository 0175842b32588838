package run

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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

// armsGuard reports whether this run arms the guard, judged from the
// checked changes. Without -confirm (confirm false), a change to SSH's own
// configuration arms it (sshConfigChange); with -confirm, any change to
// what can cut hako off that the guard can restore (a file under
// /etc/ssh, network or sudo configuration, a user's sudo rule, the
// firewall). A run that changes none of these arms nothing and costs
// nothing more.
func armsGuard(steps []*plan.Step, changes map[*plan.Step]*tasks.Change, env tasks.Env, confirm bool) bool {
	if sshConfigChange(steps, changes, env) != nil {
		return true
	}
	if !confirm {
		return false
	}
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

// sshConfigChange is the first changed step that writes SSH's own
// configuration (nil: none), which every run guards, -confirm or not:
// sshd's files (/etc/ssh), its systemd units and their drop-ins,
// /etc/default/ssh, PAM and TCP wrappers (tasks.PathCuts' SSH paths).
// Such a change can pass every lockout check and still refuse the next
// login (sshd fails to start, a ForceCommand or ChrootDirectory for the
// user, a PAM module that says no), and nothing but a new login proves
// it. The login user's authorized_keys are not among them: they lie in
// the user's home, which the rollback, acting as root by path, does not
// restore (the lockout checks judge them instead).
func sshConfigChange(steps []*plan.Step, changes map[*plan.Step]*tasks.Change, env tasks.Env) *plan.Step {
	return changedStepWriting(steps, changes, env, func(p string) bool { return tasks.PathCuts(p)&tasks.CutsSSH != 0 })
}

// changedStepWriting is the first changed step among steps whose guarded
// paths include one that match accepts (nil: none).
func changedStepWriting(steps []*plan.Step, changes map[*plan.Step]*tasks.Change, env tasks.Env, match func(path string) bool) *plan.Step {
	for _, s := range steps {
		if c := changes[s]; c == nil || !c.Changed() {
			continue
		}
		paths, _, ok := guarded(s.Task, env)
		if !ok {
			continue
		}
		for _, p := range paths {
			if match(p) {
				return s
			}
		}
	}
	return nil
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

// guardNote says, for a run that arms the guard without a port move, why
// and for how long: apply prints it as it arms, plan as what apply will
// do. A change to SSH's configuration is named, since it arms the guard
// without -confirm.
func guardNote(steps []*plan.Step, sv *survey, confirm, timeout time.Duration) string {
	why := ""
	if s := sshConfigChange(steps, sv.changes(), sv.env); s != nil && confirm <= 0 {
		why = fmt.Sprintf(" (%s changes SSH's configuration, which is always guarded; -confirm sets the time)", s.Task.Address())
	}
	return fmt.Sprintf("guarded change%s: the host rolls back its SSH, firewall and network configuration by itself within %v unless hako confirms over a new connection",
		why, timeout)
}
