package run

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// sshdTask is a countingTask that writes sshd's configuration.
type sshdTask struct{ countingTask }

func (sshdTask) Cuts(tasks.Env) tasks.Cuts { return tasks.CutsSSH }
func (sshdTask) WrittenPaths() []string    { return []string{"/etc/ssh/sshd_config.d/50-test.conf"} }

// sshdOptions: the host answers on its own settings with one host key; the
// confirmation login (which expects that key) works when newPathWorks.
func sshdOptions(t *testing.T, newPathWorks bool, net *fakeNet) Options {
	key := hostKey(t)
	return Options{
		Dial: func(_ context.Context, cfg hosts.Config) (hosts.Host, error) {
			if cfg.ExpectHostKey != nil && !newPathWorks {
				return nil, errors.New("ssh: handshake failed: ssh: unable to authenticate")
			}
			return keyedHost{hosts.NewLocal("local"), key}, nil
		},
		ArmSafetyNet: func(_ context.Context, _ hosts.Host, r NetRequest) (SafetyNet, error) {
			net.req = r
			return net, nil
		},
	}
}

// A change to sshd's configuration is guarded without -confirm: plan says
// so; apply arms the rollback for the default time before the change and
// disarms it over a new connection. A run with nothing to change arms
// nothing (no round trip more). A change the new login refuses is rolled
// back through the session hako holds.
func TestSSHConfigChangeIsAlwaysGuarded(t *testing.T) {
	p, _ := localPlan(t, "")
	checks, todo := 0, true
	p.Hosts[0].Steps = append(p.Hosts[0].Steps, &plan.Step{Task: sshdTask{countingTask{"sshd", &checks, &todo}}})
	const note = "guarded change (test.sshd changes SSH's configuration, which is always guarded; -confirm sets the time): " +
		"the host rolls back its SSH, firewall and network configuration by itself within 10m0s unless hako confirms over a new connection"

	net := &fakeNet{}
	hp := Plan(context.Background(), p, sshdOptions(t, true, net))
	if notes := strings.Join(hp[0].Notes, "\n"); !strings.Contains(notes, "apply: "+note) {
		t.Errorf("plan's notes lack the guard:\n%s", notes)
	}
	rec := &recorder{}
	recaps := Apply(context.Background(), p, sshdOptions(t, true, net), rec)
	if net.req.Timeout != DefaultMoveTimeout || net.disarm != 1 || net.rolledBack != 0 {
		t.Errorf("net %+v", net)
	}
	if r := recaps[0]; r.Changed != 1 || r.Failed != 0 || r.Unreachable != nil {
		t.Errorf("recap %+v", r)
	}
	notes := strings.Join(rec.notes, "\n")
	if !strings.Contains(notes, note) || !strings.Contains(notes, "confirmed over a new connection; the rollback is disarmed") {
		t.Errorf("apply's notes:\n%s", notes)
	}

	// Nothing to change: no guard, no note.
	net = &fakeNet{}
	hp = Plan(context.Background(), p, sshdOptions(t, true, net))
	rec = &recorder{}
	Apply(context.Background(), p, sshdOptions(t, true, net), rec)
	if net.req.Timeout != 0 || net.disarm != 0 || len(rec.notes) != 0 || len(hp[0].Notes) != 0 {
		t.Errorf("no-op run: net %+v, apply's notes %q, plan's %q", net, rec.notes, hp[0].Notes)
	}

	// -confirm sets the time; the note no longer explains it.
	todo, net = true, &fakeNet{}
	o := sshdOptions(t, true, net)
	o.Confirm = 90 * time.Second
	rec = &recorder{}
	Apply(context.Background(), p, o, rec)
	if net.req.Timeout != 90*time.Second || net.disarm != 1 || strings.Contains(strings.Join(rec.notes, "\n"), "always guarded") {
		t.Errorf("-confirm: net %+v, notes %q", net, rec.notes)
	}

	// The new login fails: rolled back, the host fails.
	todo, net = true, &fakeNet{}
	recaps = Apply(context.Background(), p, sshdOptions(t, false, net), &recorder{})
	if net.rolledBack != 1 || net.disarm != 0 {
		t.Errorf("failed login: net %+v", net)
	}
	if r := recaps[0]; r.Failed == 0 || r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "rolled back") {
		t.Errorf("failed login: recap %+v", r)
	}

	// The new login works but the disarm over it fails (a ForceCommand
	// ran in its place): rolled back through the held session at once,
	// not left to the host's timer.
	todo, net = true, &fakeNet{tooLate: true}
	recaps = Apply(context.Background(), p, sshdOptions(t, true, net), &recorder{})
	if net.disarm != 1 || net.rolledBack != 1 {
		t.Errorf("failed disarm: net %+v", net)
	}
	if r := recaps[0]; r.Failed == 0 || r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "could not be disarmed over it") ||
		!strings.Contains(r.Unreachable.Error(), "rolled back") {
		t.Errorf("failed disarm: recap %+v", r)
	}
}
