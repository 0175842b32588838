package run

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"golang.org/x/crypto/ssh"
)

// keyedHost is a local host that "proved" a host key, as an SSH one does.
type keyedHost struct {
	*hosts.Local
	key ssh.PublicKey
}

func (k keyedHost) HostKey() ssh.PublicKey { return k.key }
func (k keyedHost) KnownHostsNote() string { return "" }

// fakeNet records what apply asks of the safety net.
type fakeNet struct {
	req                NetRequest
	rolledBack, disarm int
	tooLate            bool    // the host rolled back before Disarm
	rollbackCtxErr     error   // ctx.Err() as RollbackNow saw it
	duringDisarm       func()  // called as Disarm runs
	disarmCtxErr       error   // ctx.Err() as Disarm saw it, after duringDisarm
	disarmErr          error   // what Disarm returns (after it took effect)
	disarmErrs         []error // what the first Disarms return, in turn; then disarmErr
	rollbackErr        error   // what RollbackNow returns
	rollbackErrs       []error // what the first RollbackNows return, in turn; then rollbackErr
}

func (f *fakeNet) RollbackNow(ctx context.Context, _ hosts.Host) error {
	f.rolledBack++
	f.rollbackCtxErr = ctx.Err()
	if len(f.rollbackErrs) > 0 {
		err := f.rollbackErrs[0]
		f.rollbackErrs = f.rollbackErrs[1:]
		return err
	}
	if f.rollbackErr != nil {
		return f.rollbackErr
	}
	return ctx.Err()
}
func (f *fakeNet) Disarm(ctx context.Context, _ hosts.Host) error {
	f.disarm++
	if f.duringDisarm != nil {
		f.duringDisarm()
	}
	f.disarmCtxErr = ctx.Err()
	if f.tooLate {
		return errors.New("too late: the host rolled back")
	}
	if len(f.disarmErrs) > 0 {
		err := f.disarmErrs[0]
		f.disarmErrs = f.disarmErrs[1:]
		return err
	}
	return f.disarmErr
}

func hostKey(t *testing.T) ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// moveOptions: the plan's port (2222) refuses until the move; the bootstrap
// port answers; the confirmation login succeeds when newPathWorks.
func moveOptions(t *testing.T, newPathWorks bool, net *fakeNet) Options {
	key := hostKey(t)
	return Options{
		Dial: func(_ context.Context, cfg hosts.Config) (hosts.Host, error) {
			switch {
			case cfg.Port == 22:
				return keyedHost{hosts.NewLocal("pi"), key}, nil
			case cfg.ExpectHostKey == nil:
				return nil, fmt.Errorf("tcp connect: %w", hosts.ErrConnectionRefused)
			case !newPathWorks:
				return nil, errors.New("i/o timeout")
			case string(cfg.ExpectHostKey.Marshal()) != string(key.Marshal()):
				return nil, errors.New("another host key")
			}
			return keyedHost{hosts.NewLocal("pi"), key}, nil
		},
		ArmSafetyNet: func(_ context.Context, _ hosts.Host, r NetRequest) (SafetyNet, error) {
			net.req = r
			return net, nil
		},
	}
}

// movePlan is a plan whose host moves from port 22 (user pi) to 2222;
// extra adds tasks and handlers.
func movePlan(t *testing.T, extra ...string) (*plan.Plan, string) {
	p, root := localPlan(t, `
task "file" "sshd" {
  path    = "ROOT/sshd.conf"
  content = "Port 2222\n"
}
`+strings.Join(extra, ""))
	h := p.Hosts[0]
	h.Conn.Port = 2222
	b := h.Conn
	b.Port, b.User = 22, "pi"
	h.Bootstrap = &b
	return p, root
}

func TestPortMoveConfirmed(t *testing.T) {
	p, _ := movePlan(t)
	net := &fakeNet{}
	rec := &recorder{}
	recaps := Apply(context.Background(), p, moveOptions(t, true, net), rec)
	notes := strings.Join(rec.notes, "\n")
	for _, want := range []string{"port 2222 refused the connection; connecting with the bootstrap settings", "moving SSH from port 22", "confirmed: logged in on port 2222"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if net.disarm != 1 || net.rolledBack != 0 || net.req.Timeout != DefaultMoveTimeout {
		t.Errorf("net %+v", net)
	}
	if r := recaps[0]; r.Failed != 0 || r.Changed != 1 || r.Unreachable != nil {
		t.Errorf("recap %+v", r)
	}
}

func TestPortMoveRollsBackWhenTheNewPathFails(t *testing.T) {
	p, _ := movePlan(t)
	net := &fakeNet{}
	recaps := Apply(context.Background(), p, moveOptions(t, false, net), &recorder{})
	r := recaps[0]
	if net.rolledBack != 1 || net.disarm != 0 {
		t.Errorf("net %+v", net)
	}
	if r.Failed == 0 || r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "rolled back") ||
		!strings.Contains(r.Unreachable.Error(), "reachable on port 22") {
		t.Errorf("recap %+v", r)
	}
}

// A timer that fired before the confirmation: the run fails and does not
// redo the move unguarded.
func TestPortMoveTooLateToDisarm(t *testing.T) {
	p, _ := movePlan(t)
	net := &fakeNet{tooLate: true}
	rec := &recorder{}
	recaps := Apply(context.Background(), p, moveOptions(t, true, net), rec)
	if r := recaps[0]; r.Failed == 0 || r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "could not be disarmed over it") ||
		!strings.Contains(r.Unreachable.Error(), "reachable on port 22 as before") {
		t.Errorf("recap %+v", r)
	}
	// Rolled back through the session hako holds, not left to the timer.
	if net.rolledBack != 1 {
		t.Errorf("rolled back %d times", net.rolledBack)
	}
	if strings.Contains(strings.Join(rec.notes, "\n"), "confirmed: logged in") {
		t.Error("a move that was rolled back must not be reported as confirmed")
	}
}

// -confirm on an ordinary run that changes sshd configuration arms the
// net, confirms over a new connection and disarms; a run that changes
// nothing guarded arms nothing.
func TestConfirmGuardsAnOrdinaryRun(t *testing.T) {
	p, root := localPlan(t, `
task "file" "motd" {
  path    = "ROOT/motd"
  content = "hi\n"
}
`)
	net := &fakeNet{}
	o := moveOptions(t, true, net)
	o.Confirm = 90 * time.Second
	Apply(context.Background(), p, o, &recorder{})
	if net.req.Timeout != 0 {
		t.Errorf("nothing guarded changed, yet the net was armed: %+v", net)
	}
	_ = root
}

// The plan's port dropped by a firewall (a hardened host moving to another
// port) times out: that falls back to the bootstrap settings too. A
// host-key or login failure on the plan's port never does.
func TestBootstrapFallback(t *testing.T) {
	for _, c := range []struct {
		name     string
		err      error
		fallback string // the note; "" for no fallback
	}{
		{"refused", fmt.Errorf("tcp connect: %w", hosts.ErrConnectionRefused), "port 2222 refused the connection; connecting with the bootstrap settings"},
		{"timed out", fmt.Errorf("tcp connect: timed out: %w", hosts.ErrNoTCPConnection), "port 2222 did not answer; connecting with the bootstrap settings"},
		{"host key", errors.New("host key mismatch"), ""},
		{"login", errors.New("ssh: unable to authenticate"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _ := movePlan(t)
			o := moveOptions(t, true, &fakeNet{})
			dial := o.Dial
			tried := map[int]int{}
			o.Dial = func(ctx context.Context, cfg hosts.Config) (hosts.Host, error) {
				tried[cfg.Port]++
				if cfg.Port == 2222 && cfg.ExpectHostKey == nil {
					return nil, c.err
				}
				return dial(ctx, cfg)
			}
			rec := &recorder{}
			recaps := Apply(context.Background(), p, o, rec)
			notes := strings.Join(rec.notes, "\n")
			if c.fallback == "" {
				if tried[22] != 0 || recaps[0].Unreachable == nil || strings.Contains(notes, "bootstrap") {
					t.Errorf("fell back after %v: tried %v, recap %+v, notes:\n%s", c.err, tried, recaps[0], notes)
				}
				return
			}
			if !strings.Contains(notes, c.fallback) || tried[22] != 1 || recaps[0].Unreachable != nil || recaps[0].Failed != 0 {
				t.Errorf("tried %v, recap %+v, notes:\n%s", tried, recaps[0], notes)
			}
		})
	}
}

// The pass after a port move does not run an unguarded command again, nor
// its handler; the recap counts every task once.
func TestPortMoveRunsACommandOnce(t *testing.T) {
	p, root := movePlan(t, `
task "command" "count" {
  command = "echo ran >>ROOT/count"
  notify  = ["h"]
}
handler "h" {
  command = "echo ran >>ROOT/handler"
}
`)
	rec := &recorder{}
	recaps := Apply(context.Background(), p, moveOptions(t, true, &fakeNet{}), rec)
	for _, f := range []string{"count", "handler"} {
		if got, _ := os.ReadFile(filepath.Join(root, f)); string(got) != "ran\n" {
			t.Errorf("%s: %q, want one run", f, got)
		}
	}
	if r := recaps[0]; r.Changed != 3 || r.OK != 0 || r.Failed != 0 {
		t.Errorf("recap %+v, want changed=3 (file, command, handler) once each", r)
	}
}

// Ctrl-C while hako waits for the new path: the rollback through the held
// session still runs, instead of leaving the host to its timer.
func TestInterruptedMoveStillRollsBack(t *testing.T) {
	p, _ := movePlan(t)
	net := &fakeNet{}
	ctx, cancel := context.WithCancel(context.Background())
	o := moveOptions(t, true, net)
	dial := o.Dial
	o.Dial = func(c context.Context, cfg hosts.Config) (hosts.Host, error) {
		if cfg.ExpectHostKey != nil { // the confirmation login
			cancel()
			return nil, c.Err()
		}
		return dial(c, cfg)
	}
	recaps := Apply(ctx, p, o, &recorder{})
	if net.rolledBack != 1 || net.rollbackCtxErr != nil {
		t.Errorf("rolled back %d times, with ctx error %v", net.rolledBack, net.rollbackCtxErr)
	}
	if r := recaps[0]; r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "interrupted: rolled back") ||
		strings.Contains(r.Unreachable.Error(), "does not work") {
		t.Errorf("recap %+v", r)
	}
}

// sshd restarted by an init script listens a moment after the restart
// returns: a refused confirmation login is tried again (and the move
// confirmed once sshd answers), while any other failure is an answer at
// once and rolls the move back.
func TestConfirmationRetriesARefusedConnection(t *testing.T) {
	for _, c := range []struct {
		name     string
		fail     error
		failures int
		wantTry  int
		moved    bool
	}{
		{"refused twice, then listening", fmt.Errorf("tcp connect: %w", hosts.ErrConnectionRefused), 2, 3, true},
		{"timed out", errors.New("i/o timeout"), 1, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _ := movePlan(t)
			net := &fakeNet{}
			o := moveOptions(t, true, net)
			dial := o.Dial
			tries := 0
			o.Dial = func(ctx context.Context, cfg hosts.Config) (hosts.Host, error) {
				if cfg.ExpectHostKey != nil {
					if tries++; tries <= c.failures {
						return nil, c.fail
					}
				}
				return dial(ctx, cfg)
			}
			recaps := Apply(context.Background(), p, o, &recorder{})
			if tries != c.wantTry {
				t.Errorf("%d confirmation logins, want %d", tries, c.wantTry)
			}
			if moved := net.disarm == 1 && net.rolledBack == 0; moved != c.moved {
				t.Errorf("disarmed %d, rolled back %d; want the move kept: %v (recap %+v)", net.disarm, net.rolledBack, c.moved, recaps[0])
			}
			if failed := recaps[0].Unreachable != nil; failed == c.moved {
				t.Errorf("recap %+v", recaps[0])
			}
		})
	}
}

// Ctrl-C while a task runs: no handler is started, nor the confirmation
// login; the net rolls back at once, and the interrupt is reported as one.
func TestMoveInterruptedDuringATask(t *testing.T) {
	p, root := movePlan(t, `
task "command" "quick" {
  command = "true"
  notify  = ["h"]
}
task "command" "slow" {
  command = "touch ROOT/started; sleep 30"
}
handler "h" {
  command = "touch ROOT/handler"
}
`)
	net := &fakeNet{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := moveOptions(t, true, net)
	dial := o.Dial
	confirmations := 0
	o.Dial = func(c context.Context, cfg hosts.Config) (hosts.Host, error) {
		if cfg.ExpectHostKey != nil {
			confirmations++
		}
		return dial(c, cfg)
	}
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(root, "started")); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	rec := &recorder{}
	recaps := Apply(ctx, p, o, rec)
	r := recaps[0]
	if net.rolledBack != 1 || net.rollbackCtxErr != nil || confirmations != 0 {
		t.Errorf("rolled back %d times (ctx error %v), %d confirmation logins", net.rolledBack, net.rollbackCtxErr, confirmations)
	}
	if r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "host local: interrupted: rolled back the SSH, firewall and network configuration: the host is reachable on port 22 as before") {
		t.Errorf("recap %+v", r)
	}
	if _, err := os.Stat(filepath.Join(root, "handler")); err == nil {
		t.Error("the handler ran after the interrupt")
	}
	if notes := strings.Join(rec.notes, "\n"); !strings.Contains(notes, "interrupted: these handlers of changed tasks did not run: handler.h") {
		t.Errorf("notes:\n%s", notes)
	}
}

// -allow-risky pending-rollback reaches the safety net: it arms although
// another run's rollback is pending there.
func TestPortMovePassesAllowPending(t *testing.T) {
	for _, allow := range []bool{false, true} {
		p, _ := movePlan(t)
		net := &fakeNet{}
		o := moveOptions(t, true, net)
		if allow {
			o.AllowRisky = map[string]bool{"pending-rollback": true}
		}
		Apply(context.Background(), p, o, &recorder{})
		if net.req.Timeout == 0 || net.req.AllowPending != allow {
			t.Errorf("allow %v: net request %+v", allow, net.req)
		}
	}
}

// Ctrl-C while the disarm runs: the disarm is not cut short (its answer
// says whether the change stands), the move stands, and the run says it
// was interrupted after the confirmation, without rolling back.
func TestPortMoveInterruptedDuringDisarm(t *testing.T) {
	p, _ := movePlan(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := &fakeNet{duringDisarm: cancel}
	rec := &recorder{}
	r := Apply(ctx, p, moveOptions(t, true, net), rec)[0]
	if net.disarm != 1 || net.disarmCtxErr != nil || net.rolledBack != 0 {
		t.Errorf("net %+v: want one disarm that did not see the cancel, no rollback", net)
	}
	if notes := strings.Join(rec.notes, "\n"); !strings.Contains(notes, "confirmed: logged in on port 2222") {
		t.Errorf("notes lack the confirmation:\n%s", notes)
	}
	if r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "interrupted after the move was confirmed") ||
		!strings.Contains(r.Unreachable.Error(), "SSH on port 2222") || strings.Contains(r.Unreachable.Error(), "rolled back") {
		t.Errorf("recap %+v", r)
	}
}

// Ctrl-C once the new connection works but before the disarm: the change
// is not confirmed, so it is rolled back and reported as an interrupt.
func TestPortMoveInterruptedBeforeDisarm(t *testing.T) {
	p, _ := movePlan(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	net := &fakeNet{}
	o := moveOptions(t, true, net)
	dial := o.Dial
	o.Dial = func(c context.Context, cfg hosts.Config) (hosts.Host, error) {
		h, err := dial(c, cfg)
		if err == nil && cfg.Port == 2222 {
			cancel() // the new path logged in; Ctrl-C comes now
		}
		return h, err
	}
	r := Apply(ctx, p, o, &recorder{})[0]
	if net.disarm != 0 || net.rolledBack != 1 || net.rollbackCtxErr != nil {
		t.Errorf("net %+v: want no disarm and one rollback that did not see the cancel", net)
	}
	if r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "interrupted") ||
		!strings.Contains(r.Unreachable.Error(), "reachable on port 22 as before") {
		t.Errorf("recap %+v", r)
	}
}

// The disarm's answer lost (the new connection died as it ran) and the
// rollback finding no guard: the disarm took effect, so the run says the
// change stands, not that the host will roll back by itself.
func TestPortMoveDisarmAnswerLost(t *testing.T) {
	p, _ := movePlan(t)
	net := &fakeNet{
		disarmErr:   errors.New("run: the connection was closed while the command ran"),
		rollbackErr: fmt.Errorf("host \"pi\": guard g: %w", guard.ErrNotArmed),
	}
	r := Apply(context.Background(), p, moveOptions(t, true, net), &recorder{})[0]
	if net.disarm != 1 || net.rolledBack != 1 {
		t.Errorf("net %+v", net)
	}
	if r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "the disarm took effect and moving SSH from port 22 to 2222 stands (SSH on port 2222 as ") ||
		strings.Contains(r.Unreachable.Error(), "rolls back by itself") {
		t.Errorf("recap %+v", r)
	}
}

// The disarm without an answer and the rollback through the held session
// failing too (sshd or the network went away as the disarm ran): whether
// the change stands is unknown, so hako logs in once more and asks again.
// No guard armed any more, or the disarm done now: the change stands and
// the run goes on over that connection. The host rolled back first: it is
// as before, and the run says so. A disarm the host answered (refused) is
// not asked again. Interrupted, hako rolls back over the new connection
// instead of disarming.
func TestPortMoveDisarmAskedAgain(t *testing.T) {
	lost := fmt.Errorf("run: the connection was closed while the command ran: %w", guard.ErrNoAnswer)
	eof := fmt.Errorf("open session: EOF: %w", guard.ErrNoAnswer)
	notArmed := fmt.Errorf("host \"pi\": guard g: %w", guard.ErrNotArmed)
	for _, c := range []struct {
		name                string
		first               error   // the first disarm's error
		second              error   // the second disarm's
		rollbacks           []error // the rollbacks' errors
		interrupt           bool    // Ctrl-C as the first disarm runs
		disarms, rolledBack int
		converged           bool
		want                string
	}{
		{name: "disarmed before", first: lost, second: notArmed, rollbacks: []error{eof}, disarms: 2, rolledBack: 1, converged: true},
		{name: "disarmed now", first: lost, rollbacks: []error{eof}, disarms: 2, rolledBack: 1, converged: true},
		{name: "rolled back first", first: lost, second: &guard.RolledBackError{Host: "pi", ID: "g", Log: "rollback done: ok"}, rollbacks: []error{eof}, disarms: 2, rolledBack: 1,
			want: "by the time hako asked again the host had rolled back (its timer, or the rollback hako asked for): the host is reachable on port 22 as before"},
		{name: "fails again", first: lost, second: lost, rollbacks: []error{eof}, disarms: 2, rolledBack: 1,
			want: "and rolling back failed: open session: EOF: no answer from the host (if it did not run, the host rolls back by itself when the timer ends); asking again over another new connection failed: run: the connection was closed while the command ran"},
		{name: "refused", first: errors.New("host \"pi\": guard g: disarm failed (exit status 1): sudo: a password is required"), rollbacks: []error{errors.New("host \"pi\": guard g: rollback failed (exit status 1): sudo: a password is required")}, disarms: 1, rolledBack: 1,
			want: "and rolling back failed: host \"pi\": guard g: rollback failed (exit status 1): sudo: a password is required (the host rolls back by itself when the timer ends)"},
		{name: "interrupted, rolled back", first: lost, rollbacks: []error{eof, nil}, interrupt: true, disarms: 1, rolledBack: 2,
			want: "interrupted: rolled back the SSH, firewall and network configuration over another new connection"},
		{name: "interrupted, disarmed before", first: lost, rollbacks: []error{eof, notArmed}, interrupt: true, disarms: 1, rolledBack: 2,
			want: "interrupted after the disarm took effect (its answer was lost: run: the connection was closed while the command ran: no answer from the host): moving SSH from port 22 to 2222 stands (SSH on port 2222 as "},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, root := movePlan(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			net := &fakeNet{disarmErrs: []error{c.first, c.second}, rollbackErrs: c.rollbacks}
			if c.interrupt {
				net.duringDisarm = cancel
			}
			rec := &recorder{}
			r := Apply(ctx, p, moveOptions(t, true, net), rec)[0]
			if net.disarm != c.disarms || net.rolledBack != c.rolledBack {
				t.Errorf("net %+v", net)
			}
			if c.converged {
				if r.Unreachable != nil || r.Failed != 0 {
					t.Fatalf("recap %+v: %v", r, r.Unreachable)
				}
				if !strings.Contains(strings.Join(rec.notes, "\n"), "the disarm over the new connection got no answer (run: the connection was closed while the command ran: no answer from the host), and the rollback through the first failed; asked again over another new connection: no rollback is armed any more") {
					t.Errorf("notes %q", rec.notes)
				}
				if b, err := os.ReadFile(filepath.Join(root, "sshd.conf")); err != nil || string(b) != "Port 2222\n" {
					t.Errorf("sshd.conf %q %v", b, err)
				}
				return
			}
			if r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), c.want) {
				t.Errorf("recap %+v:\n%v\nwant %q", r, r.Unreachable, c.want)
			}
		})
	}
}

// A rollback that ran in part cancelled the host's timer: the run does
// not say the host will roll back by itself.
func TestRollbackFailureSaysWhatIsLeft(t *testing.T) {
	partial := rollbackFailure(&guard.RollbackError{Host: "pi", ID: "g", Log: "FAILED: cannot restore /etc/x"})
	if strings.Contains(partial, "rolls back by itself") || !strings.Contains(partial, "the host's own rollback is cancelled") {
		t.Errorf("partial: %s", partial)
	}
	if s := rollbackFailure(fmt.Errorf("x: %w", guard.ErrNoAnswer)); !strings.Contains(s, "if it did not run, the host rolls back by itself") {
		t.Errorf("no answer: %s", s)
	}
}
