// Package preflight checks a host's plan against the host before anything
// changes: for the ways a plan can lock you out of a freshly flashed card
// (refusals, each overridable by name with -allow-risky) and for distro
// drift that makes part of a plan do nothing (warnings, never blocking).
//
// What the checks need comes from probe requests (Probes), answered in
// the same round trip as the tasks' probes; Run is pure over the State.
package preflight

import (
	"fmt"
	"slices"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// The refusals' checks, the names -allow-risky takes. ufw-lockout and
// login-user-sudo are also refused by the tasks themselves.
const (
	CheckUFWLockout      = tasks.CheckUFWLockout
	CheckPasswordAuth    = "password-auth-without-key"
	CheckLoginUserSudo   = tasks.CheckLoginUserSudo
	CheckSocketPort      = "socket-activated-port"
	CheckSSHDPort        = "sshd-port"
	CheckPendingRollback = "pending-rollback"
	CheckSSHDInclude     = "sshd-include"
	CheckSSHDLoginUser   = "sshd-login-user"
)

// The warnings' checks.
const (
	WarnSSHSocket        = "ssh-socket"
	WarnNetworkManager   = "dhcpcd-networkmanager"
	WarnLoginUserMissing = "login-user-missing"
)

// RefusalChecks lists the checks -allow-risky can override.
var RefusalChecks = []string{CheckUFWLockout, CheckPasswordAuth, CheckLoginUserSudo, CheckSocketPort, CheckSSHDPort, CheckPendingRollback, CheckSSHDInclude, CheckSSHDLoginUser, tasks.CheckAddressMove, tasks.CheckLoginUserShell}

// IsRefusalCheck reports whether name is one of RefusalChecks.
func IsRefusalCheck(name string) bool { return slices.Contains(RefusalChecks, name) }

// Finding is one refusal or warning.
type Finding struct {
	Check   string
	Task    tasks.Address // the task it is about; zero: the host as a whole
	Message string        // a sentence that names the task, what is wrong and what to do
	// Overridden marks a refusal that -allow-risky turned into a warning.
	Overridden bool
	// Guarded marks a refusal that -confirm turned into a warning: the
	// rollback guard answers what it is about.
	Guarded bool
}

// String is the finding as a warning line shows it.
func (f Finding) String() string {
	switch {
	case f.Guarded:
		return fmt.Sprintf("guarded by -confirm (check %s): %s", f.Check, f.Message)
	case f.Overridden:
		return fmt.Sprintf("overridden by -allow-risky %s: %s", f.Check, f.Message)
	}
	return fmt.Sprintf("%s (check %s)", f.Message, f.Check)
}

// Err is a refusal as the error of its task.
func (f Finding) Err() error { return &tasks.Refusal{Check: f.Check, Reason: f.Message} }

// Run checks h's plan against st, which must hold the answers to Probes(h)
// and to every task's probes. own are the tasks' own refusals (a firewall
// that would cut the connection, removing the login user), found by their
// checks (TaskFindings); a refusal of these checks that says the same is
// given once. Whether a refusal stands or -allow-risky overrides it is the
// run's decision, not the checks'.
func Run(h *plan.Host, st *tasks.State, own []Finding) (refusals, warnings []Finding) {
	e := newEnv(h, st)
	found := append([]Finding(nil), own...)
	found = append(found, passwordAuth(e)...)
	found = append(found, loginUserSudo(e)...)
	socket := socketPort(e)
	found = append(found, socket...)
	found = append(found, sshdPort(e)...)
	found = append(found, pendingRollback(e)...)
	includeRefusals, includeWarnings := sshdInclude(e)
	found = append(found, includeRefusals...)
	found = append(found, sshdLoginUser(e)...)

	seen := map[[2]string]bool{}
	for _, f := range found {
		key := [2]string{f.Check, f.Task.String()}
		if seen[key] {
			continue // the task's own refusal and the check's say the same
		}
		seen[key] = true
		refusals = append(refusals, f)
	}
	if len(socket) == 0 {
		warnings = append(warnings, sshSocket(e)...)
	}
	warnings = append(warnings, includeWarnings...)
	warnings = append(warnings, networkManager(e)...)
	warnings = append(warnings, loginUserMissing(e)...)
	warnings = append(warnings, leftoverTemps(h, st)...)
	return refusals, warnings
}

// TaskFindings are the refusals of the task at addr as findings.
func TaskFindings(addr tasks.Address, rs []*tasks.Refusal) []Finding {
	var out []Finding
	for _, r := range rs {
		out = append(out, Finding{Check: r.Check, Task: addr, Message: r.Reason})
	}
	return out
}

// env is what the checks look at: the plan of one host and its facts.
type env struct {
	host  *plan.Host
	facts *facts
	// endpoint is the connection hako uses, as the host sees it (zero
	// for a local host).
	endpoint hosts.Endpoint
	// planned are the files the plan's file tasks write, by path.
	planned map[string]plannedFile
}

type plannedFile struct {
	task      tasks.Address
	data      []byte
	sensitive bool
}

func newEnv(h *plan.Host, st *tasks.State) *env {
	e := &env{host: h, facts: factsOf(h, st), endpoint: st.Endpoint, planned: map[string]plannedFile{}}
	for _, s := range h.Steps {
		f, ok := s.Task.(tasks.PlannedFile)
		if !ok {
			continue
		}
		data, sensitive := f.PlannedContent()
		if _, dup := e.planned[f.ManagedPath()]; !dup { // the first writer; a later one is another finding's business
			e.planned[f.ManagedPath()] = plannedFile{task: s.Task.Address(), data: data, sensitive: sensitive}
		}
	}
	return e
}

// endFile is a file as the plan leaves it: the plan's content when a task
// writes it, else the host's.
type endFile struct {
	path       string
	data       []byte
	task       tasks.Address // zero: the host's file, untouched by the plan
	sensitive  bool
	unreadable bool // on the host, and hako could not read it
}

// file returns path as the plan leaves it; ok is false when it does not
// exist then.
func (e *env) file(path string) (endFile, bool) {
	if p, ok := e.planned[path]; ok {
		return endFile{path: path, data: p.data, task: p.task, sensitive: p.sensitive}, true
	}
	if data, ok := e.facts.files[path]; ok {
		return endFile{path: path, data: data}, true
	}
	if e.facts.unreadable[path] {
		return endFile{path: path, unreadable: true}, true
	}
	return endFile{}, false
}

// paths lists every path the end state has (planned or probed) for which
// keep is true.
func (e *env) paths(keep func(string) bool) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if keep(p) && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for p := range e.planned {
		add(p)
	}
	for p := range e.facts.files {
		add(p)
	}
	for p := range e.facts.unreadable {
		add(p)
	}
	return out
}

// userTasks are the tasks that manage the account name, in plan order.
func (e *env) userTasks(name string) []tasks.Account {
	var out []tasks.Account
	for _, s := range e.host.Steps {
		if u, ok := s.Task.(tasks.Account); ok && u.Name() == name {
			out = append(out, u)
		}
	}
	return out
}
