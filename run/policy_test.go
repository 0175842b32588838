package run

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/tasks"
)

// capabilityPlan has one task of each kind the policy has to judge.
const capabilityPlan = `
task "file" "sshd" {
  path    = "/etc/ssh/sshd_config.d/10-hako.conf"
  content = "Port 2222\n"
}
task "file" "motd" {
  path    = "/etc/motd"
  content = "hi\n"
}
task "file" "socket" {
  path    = "/etc/systemd/system/ssh.socket.d/port.conf"
  content = "[Socket]\n"
}
task "file" "net" {
  path    = "/etc/network/interfaces"
  content = "auto lo\n"
}
task "directory" "nm" {
  path = "/etc/NetworkManager/conf.d"
}
task "user" "alice" {
  name = "alice"
  sudo = "nopasswd"
}
task "user" "bob" {
  name   = "bob"
  groups = ["adm"]
}
task "user" "admin_keys" {
  name           = "nobody"
  exclusive_keys = true
}
task "ufw" "fw" {
  rule { port = 22 }
}
task "command" "cmd" {
  command = "true"
}
task "service" "ssh" {
  name  = "ssh"
  state = "started"
}
`

func capabilitySteps(t *testing.T) (*plan.Host, map[string]*plan.Step) {
	p, _ := localPlan(t, capabilityPlan)
	h := p.Hosts[0]
	by := map[string]*plan.Step{}
	for _, s := range h.Steps {
		by[s.Task.Address().Name] = s
	}
	return h, by
}

// -confirm arms the guard when a changed task can cut hako off and the
// guard can restore what it writes: sshd's and the network's files, a
// user's sudo rule (alice's file in /etc/sudoers.d: sudo's configuration
// is hako's way to root, whoever the rule is for), the firewall. Nothing
// else arms it, nor an unchanged task. Without -confirm, a change to
// SSH's own configuration (the sshd drop-in, ssh.socket's) arms it alone.
func TestArmsGuard(t *testing.T) {
	h, by := capabilitySteps(t)
	env := tasks.Env{LoginUsers: []string{"nobody"}}
	for name, want := range map[string]bool{
		"sshd": true, "motd": false, "socket": true, "net": true, "nm": true, "alice": true, "bob": false,
		// nobody's keys can cut SSH, but they live in its home, which the
		// rollback does not restore.
		"admin_keys": false,
		"fw":         true, "cmd": false, "ssh": false,
	} {
		changes := map[*plan.Step]*tasks.Change{by[name]: {Action: tasks.Update}}
		if got := armsGuard(h.Steps, changes, env, true); got != want {
			t.Errorf("%s changed: -confirm arms %v, want %v", name, got, want)
		}
		// Without -confirm, only SSH's own configuration arms it.
		if got := armsGuard(h.Steps, changes, env, false); got != (name == "sshd" || name == "socket") {
			t.Errorf("%s changed: without -confirm arms %v", name, got)
		}
		changes[by[name]] = &tasks.Change{}
		if armsGuard(h.Steps, changes, env, true) || armsGuard(h.Steps, changes, env, false) {
			t.Errorf("%s unchanged: arms the guard", name)
		}
	}
}

// The guard saves the paths of every task that can cut hako off (changed
// or not), the firewall, and restarts what reads them.
func TestGuardRequest(t *testing.T) {
	h, _ := capabilitySteps(t)
	r := guardRequest(h.Steps, tasks.Env{LoginUsers: []string{"nobody"}})
	want := []string{"/etc/ssh/sshd_config.d/10-hako.conf", "/etc/systemd/system/ssh.socket.d/port.conf",
		"/etc/network/interfaces", "/etc/NetworkManager/conf.d", "/etc/sudoers.d/hako-alice"}
	if !slices.Equal(r.Paths, want) {
		t.Errorf("paths %q, want %q", r.Paths, want)
	}
	if !slices.Contains(r.UFW, "/etc/ufw/user.rules") || !slices.Contains(r.UFW, "/etc/default/ufw") {
		t.Errorf("the firewall is not saved: %q", r.UFW)
	}
	if got := strings.Join(r.Restart, " "); got != "ssh ssh.socket" {
		t.Errorf("restart %q", got)
	}
	if got := strings.Join(r.Reapply, " "); got != "networking NetworkManager" {
		t.Errorf("reapply %q", got)
	}
}

// -allow-risky overrides a refusal by its check's name; a refusal without
// a check stands whatever the run allows.
func TestSplitRefusals(t *testing.T) {
	found := []preflight.Finding{{Check: tasks.CheckUFWLockout, Message: "a"}, {Check: preflight.CheckSSHDPort, Message: "b"}, {Message: "c"}}
	for _, c := range []struct {
		allow             map[string]bool
		stand, overridden string
	}{
		{nil, "a b c", ""},
		{map[string]bool{tasks.CheckUFWLockout: true}, "b c", "a"},
		{map[string]bool{tasks.CheckUFWLockout: true, preflight.CheckSSHDPort: true, "": true}, "c", "a b"},
	} {
		stand, over := splitRefusals(found, c.allow, false)
		if messages(stand) != c.stand || messages(over) != c.overridden {
			t.Errorf("allow %v: stand %q, overridden %q", c.allow, messages(stand), messages(over))
		}
		for _, f := range over {
			if !f.Overridden {
				t.Errorf("%s: not marked overridden", f.Message)
			}
		}
	}
}

func messages(fs []preflight.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Message)
	}
	return strings.Join(out, " ")
}

// countingTask counts its checks; its change is a write when todo.
type countingTask struct {
	name   string
	checks *int
	todo   *bool
}

func (c countingTask) Address() tasks.Address { return tasks.Address{Kind: "test", Name: c.name} }
func (countingTask) Probes() []tasks.Probe {
	return nil
}
func (c countingTask) Check(*tasks.State, tasks.Env) (*tasks.Change, error) {
	*c.checks++
	if *c.todo {
		return &tasks.Change{Action: tasks.Update}, nil
	}
	return &tasks.Change{}, nil
}
func (c countingTask) Apply(context.Context, hosts.Host, *tasks.Change) error {
	*c.todo = false
	return nil
}

// It guards what it writes, so that -confirm weighs it: network
// configuration, which only -confirm guards (SSH's is guarded always).
func (countingTask) Cuts(tasks.Env) tasks.Cuts { return tasks.CutsNetwork }
func (countingTask) WrittenPaths() []string    { return []string{"/etc/network/interfaces"} }

// plan and apply check each task once, for the lockout checks, the preview,
// -confirm's decision and the run alike; apply checks again only after a
// change: the changed task (did it converge?) and the later ones (against
// the new state).
func TestCheckRunsOncePerTask(t *testing.T) {
	p, _ := localPlan(t, "")
	counts := make([]int, 3)
	todo := make([]bool, 3)
	for i := range counts {
		p.Hosts[0].Steps = append(p.Hosts[0].Steps, &plan.Step{Task: countingTask{fmt.Sprint("t", i), &counts[i], &todo[i]}})
	}
	reset := func(changes ...bool) {
		for i := range counts {
			counts[i], todo[i] = 0, i < len(changes) && changes[i]
		}
	}
	want := func(what string, w ...int) {
		t.Helper()
		if !slices.Equal(counts, w) {
			t.Errorf("%s: checks %v, want %v", what, counts, w)
		}
	}
	reset(true)
	Plan(context.Background(), p, localOpts)
	want("plan", 1, 1, 1)

	reset()
	Apply(context.Background(), p, localOpts, &recorder{})
	want("apply, nothing to do", 1, 1, 1)

	reset(false, true)
	Apply(context.Background(), p, localOpts, &recorder{})
	want("apply, t1 changes", 1, 2, 2)

	net := &fakeNet{}
	o := moveOptions(t, true, net)
	o.Dial = func(context.Context, hosts.Config) (hosts.Host, error) {
		return keyedHost{hosts.NewLocal("local"), hostKey(t)}, nil
	}
	o.Confirm = time.Minute
	reset()
	Apply(context.Background(), p, o, &recorder{})
	want("apply -confirm, nothing to do", 1, 1, 1)
	if net.req.Timeout != 0 {
		t.Errorf("armed with nothing to change: %+v", net.req)
	}
	reset(true)
	Apply(context.Background(), p, o, &recorder{})
	want("apply -confirm, t0 changes", 2, 2, 2)
	if net.req.Timeout != time.Minute || net.disarm != 1 {
		t.Errorf("net %+v", net)
	}
}

// movingTask's change moves the address hako is connected to, as an
// nm_connection brought up with a new static address does; it writes
// network configuration, so the guard covers it.
type movingTask struct{ ran *bool }

func (movingTask) Address() tasks.Address { return tasks.Address{Kind: "test", Name: "moving"} }
func (movingTask) Probes() []tasks.Probe  { return nil }
func (m movingTask) Check(*tasks.State, tasks.Env) (*tasks.Change, error) {
	if *m.ran {
		return &tasks.Change{}, nil
	}
	return &tasks.Change{Action: tasks.Update, Summary: "moving",
		Refusals: []*tasks.Refusal{{Check: tasks.CheckAddressMove, Reason: "test.moving moves hako's address"}}}, nil
}
func (m movingTask) Apply(context.Context, hosts.Host, *tasks.Change) error {
	*m.ran = true
	return nil
}
func (movingTask) Cuts(tasks.Env) tasks.Cuts { return tasks.CutsNetwork }
func (movingTask) WrittenPaths() []string {
	return []string{"/etc/NetworkManager/system-connections/lan.nmconnection"}
}

// A change that moves hako's address is refused unless -confirm arms the
// rollback guard for it; then it runs guarded and the run says so.
// -allow-risky address-move overrides it as any other check.
func TestConfirmLiftsTheAddressMoveRefusal(t *testing.T) {
	p, _ := localPlan(t, "")
	ran := false
	p.Hosts[0].Steps = append(p.Hosts[0].Steps, &plan.Step{Task: movingTask{&ran}})
	rec := &recorder{}
	Apply(context.Background(), p, localOpts, rec)
	if ran || rec.statuses() != "test.moving=failed" || !strings.Contains(rec.results[0].Err.Error(), "-allow-risky address-move") {
		t.Fatalf("without -confirm: ran %v, %s, %v", ran, rec.statuses(), rec.results)
	}

	net := &fakeNet{}
	o := moveOptions(t, true, net)
	o.Confirm = 90 * time.Second
	rec = &recorder{}
	recaps := Apply(context.Background(), p, o, rec)
	if !ran || recaps[0].Changed != 1 || net.req.Timeout != o.Confirm || net.disarm != 1 {
		t.Fatalf("with -confirm: ran %v, recap %+v, net %+v, notes %q", ran, recaps[0], net, rec.notes)
	}
	if len(rec.notes) == 0 || rec.notes[0] != "warning: guarded by -confirm (check address-move): test.moving moves hako's address" {
		t.Errorf("notes %q", rec.notes)
	}

	ran = false
	o = localOpts
	o.AllowRisky = map[string]bool{tasks.CheckAddressMove: true}
	rec = &recorder{}
	Apply(context.Background(), p, o, rec)
	if !ran || len(rec.notes) != 1 || rec.notes[0] != "warning: overridden by -allow-risky address-move: test.moving moves hako's address" {
		t.Errorf("with -allow-risky: ran %v, notes %q", ran, rec.notes)
	}
}
