package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
	"golang.org/x/crypto/ssh"
)

// moverTask's change moves hako's address, as an nm_connection brought up
// with a new static address does: its Apply writes nothing that moves,
// and the move is the command Move returns (here: a marker file).
type moverTask struct {
	ran    *bool
	marker string
}

func (moverTask) Address() tasks.Address { return tasks.Address{Kind: "test", Name: "mover"} }
func (moverTask) Probes() []tasks.Probe  { return nil }
func (m moverTask) Check(*tasks.State, tasks.Env) (*tasks.Change, error) {
	if *m.ran {
		return &tasks.Change{}, nil
	}
	return &tasks.Change{Action: tasks.Update, Summary: "mover",
		Refusals: []*tasks.Refusal{{Check: tasks.CheckAddressMove, Reason: "test.mover moves hako's address"}}}, nil
}
func (m moverTask) Apply(context.Context, hosts.Host, *tasks.Change) error { *m.ran = true; return nil }
func (moverTask) Cuts(tasks.Env) tasks.Cuts                                { return tasks.CutsNetwork }
func (moverTask) WrittenPaths() []string {
	return []string{"/etc/NetworkManager/system-connections/lan.nmconnection"}
}
func (m moverTask) Move(*tasks.Change) (string, string) {
	return "echo moved > " + hosts.Quote(m.marker), "192.168.0.64"
}

// atAddress is a local host that the probes see as reached at addr.
type atAddress struct {
	*hosts.Local
	addr string
	key  ssh.PublicKey
}

func (h atAddress) Run(ctx context.Context, cmd string) (hosts.Result, error) {
	return h.Local.Run(ctx, "HAKO_SSH_CONNECTION='192.168.0.10 50000 "+h.addr+" 22'\n"+cmd)
}
func (h atAddress) HostKey() ssh.PublicKey { return h.key }
func (h atAddress) KnownHostsNote() string { return "" }

// waitFor waits until the file exists (the detached move ran).
func waitFor(t *testing.T, name string) {
	t.Helper()
	for range 600 {
		if _, err := os.Stat(name); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never appeared: the move did not run", name)
}

// The move is made after every other task and handler, detached from the
// session (it outlives the command that starts it).
func TestAddressMoveComesLast(t *testing.T) {
	p, root := localPlan(t, `
task "file" "after" {
  path    = "ROOT/after"
  content = "x\n"
}
`)
	ran := false
	marker := filepath.Join(root, "moved")
	h := p.Hosts[0]
	h.Steps = append([]*plan.Step{{Task: moverTask{&ran, marker}}}, h.Steps...)
	o := localOpts
	o.AllowRisky = map[string]bool{tasks.CheckAddressMove: true}
	rec := &recorder{}
	recaps := Apply(context.Background(), p, o, rec)
	if !ran || recaps[0].Failed != 0 || rec.statuses() != "test.mover=changed file.after=changed" {
		t.Fatalf("ran %v, recap %+v, %s, notes %q", ran, recaps[0], rec.statuses(), rec.notes)
	}
	if n := rec.notes[len(rec.notes)-1]; n != "test.mover: moving the host to 192.168.0.64 now; this session ends" {
		t.Errorf("last note %q", n)
	}
	waitFor(t, marker)
}

// Under -confirm, hako logs in again at the new address, and disarms only
// over a connection that reached the host there; if every login still
// reaches the old address (the move never happened), it does not disarm
// but rolls back.
func TestAddressMoveConfirmedAtTheNewAddress(t *testing.T) {
	for _, moves := range []bool{true, false} {
		p, root := localPlan(t, "")
		ran := false
		marker := filepath.Join(root, "moved")
		p.Hosts[0].Steps = append(p.Hosts[0].Steps, &plan.Step{Task: moverTask{&ran, marker}})
		key := hostKey(t)
		var dialled []string
		net := &fakeNet{}
		o := Options{
			Dial: func(_ context.Context, cfg hosts.Config) (hosts.Host, error) {
				dialled = append(dialled, cfg.Address)
				addr := "127.0.0.1" // the plan's address: where hako is now
				if moves && cfg.Address == "192.168.0.64" {
					addr = cfg.Address
				}
				return atAddress{hosts.NewLocal("local"), addr, key}, nil
			},
			ArmSafetyNet: func(_ context.Context, _ hosts.Host, r NetRequest) (SafetyNet, error) {
				net.req = r
				return net, nil
			},
			Confirm: 4 * time.Second,
		}
		rec := &recorder{}
		recaps := Apply(context.Background(), p, o, rec)
		waitFor(t, marker)
		if !ran || len(dialled) < 2 || dialled[0] != "127.0.0.1" || dialled[1] != "192.168.0.64" {
			t.Fatalf("moves %v: ran %v, dialled %q, notes %q", moves, ran, dialled, rec.notes)
		}
		if moves {
			if recaps[0].Failed != 0 || net.disarm != 1 || net.rolledBack != 0 {
				t.Errorf("recap %+v, net %+v, notes %q", recaps[0], net, rec.notes)
			}
			continue
		}
		if net.disarm != 0 || net.rolledBack != 1 || recaps[0].Unreachable == nil ||
			!strings.Contains(recaps[0].Unreachable.Error(), "still reached the old address 127.0.0.1") {
			t.Errorf("the move never happened, yet: recap %+v, net %+v", recaps[0], net)
		}
	}
}

// After a failed task the move is not made: the plan did not converge.
func TestNoAddressMoveAfterAFailure(t *testing.T) {
	p, root := localPlan(t, `
task "file" "broken" {
  path     = "ROOT/broken"
  content  = "x\n"
  validate = "false %s"
}
`)
	ran := false
	h := p.Hosts[0]
	h.Steps = append([]*plan.Step{{Task: moverTask{&ran, filepath.Join(root, "moved")}}}, h.Steps...)
	o := localOpts
	o.AllowRisky = map[string]bool{tasks.CheckAddressMove: true}
	rec := &recorder{}
	Apply(context.Background(), p, o, rec)
	notes := strings.Join(rec.notes, "\n")
	if !ran || rec.statuses() != "test.mover=changed file.broken=failed" ||
		!strings.Contains(notes, "the address move is not made now") || strings.Contains(notes, "moving the host") {
		t.Errorf("ran %v, %s, notes %q", ran, rec.statuses(), rec.notes)
	}
}
