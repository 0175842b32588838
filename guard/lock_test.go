package guard_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/testhost"
)

// Two runs never arm at once: the check for a pending rollback and the
// arming happen under one lock on the host. Several Arms started together
// over their own connections: exactly one wins each round, the others are
// refused with the command that cancels the winner's guard, and nothing of
// theirs stays. With AllowPending (-allow-risky pending-rollback) a second
// one is armed.
func TestArmIsExclusive(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		setUp(t, h)
		ctx := context.Background()
		const rounds, racers = 3, 4
		var conns []*hosts.SSHHost
		for range racers {
			conns = append(conns, dial(t, h))
		}
		attempts, wins := 0, 0
		for round := range rounds {
			var mu sync.Mutex
			var won []*guard.Armed
			var refused []error
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}}, window)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						won = append(won, a)
					} else {
						refused = append(refused, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			attempts += racers
			wins += len(won)
			if len(won) != 1 {
				t.Fatalf("round %d: %d of %d Arms armed, want 1; refused: %v", round, len(won), racers, refused)
			}
			for _, err := range refused {
				if !strings.Contains(err.Error(), "a rollback armed by another run at ") || !strings.Contains(err.Error(), "cancel it: sudo sh "+won[0].Dir()+"/rollback disarm") ||
					!strings.Contains(err.Error(), "nothing is armed") || len(err.Error()) > 300 {
					t.Errorf("round %d: refusal %v", round, err)
				}
			}
			if got := h.Exec(t, "ls "+guard.BaseDir); got != won[0].ID()+"\n" {
				t.Errorf("round %d: %s holds %q, want only the winner", round, guard.BaseDir, got)
			}
			if err := won[0].Disarm(ctx, conns[0]); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%d Arms started %d at a time: %d armed (one per round)", attempts, racers, wins)

		a, err := guard.Arm(ctx, conns[0], guard.Snapshot{Paths: []string{guarded}}, window)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		_, err = guard.Arm(ctx, conns[1], guard.Snapshot{Paths: []string{guarded}}, window)
		if err == nil {
			t.Fatal("a second Arm while the first is pending was armed")
		}
		// The scheduler of the first (a detached process on lite hosts)
		// must not hold the lock: the refusal comes at once, not after
		// the lock's minute.
		if d := time.Since(t0); d > 45*time.Second {
			t.Errorf("the refusal took %v", d)
		}
		b, err := guard.Arm(ctx, conns[1], guard.Snapshot{Paths: []string{guarded}, AllowPending: true}, window)
		if err != nil {
			t.Fatalf("Arm with AllowPending: %v", err)
		}
		for _, g := range []*guard.Armed{a, b} {
			if err := g.Disarm(ctx, conns[0]); err != nil {
				t.Error(err)
			}
		}
	})
}

// Arm prunes snapshots older than PruneAfterDays that will never fire:
// rolled back, or long past their deadline (a reboot dropped the timer).
// Recent ones stay, as does one still pending (a long timeout) and
// anything in the folder that is not a directory of its own.
func TestArmPrunesOldSnapshots(t *testing.T) {
	testhost.Require(t)
	t.Parallel()
	h := testhost.Start(t, testhost.Options{})
	setUp(t, h)
	old := func(id, armed, extra, age string) string {
		d := guard.BaseDir + "/" + id
		return "mkdir -p " + d + " && echo '" + armed + "' >" + d + "/armed && echo v1 >" + d + "/0001.data" + extra +
			" && touch -d '" + age + "' " + d + "\n"
	}
	now := time.Now().UTC()
	h.Exec(t, "mkdir -p "+guard.BaseDir+" && chmod 700 "+guard.BaseDir+"\n"+
		old("20200101T000000-00000000000000a1", "2020-01-01T00:00:00Z timeout 600000ms", " && echo 'ok 2020-01-01T00:05:00Z' >"+guard.BaseDir+"/20200101T000000-00000000000000a1/rolledback", "40 days ago")+
		old("20200101T000000-00000000000000a2", "2020-01-01T00:00:00Z timeout 600000ms", "", "40 days ago")+
		old("20200101T000000-00000000000000a3", now.Add(-5*24*time.Hour).Format("2006-01-02T15:04:05Z")+" timeout 600000ms", "", "5 days ago")+
		old("20200101T000000-00000000000000a4", now.Add(-40*24*time.Hour).Format("2006-01-02T15:04:05Z")+" timeout 5184000000ms", "", "40 days ago")+
		"mkdir -p /root/elsewhere && touch -d '40 days ago' /root/elsewhere && ln -s /root/elsewhere "+guard.BaseDir+"/20200101T000000-00000000000000a5")
	c := dial(t, h)
	ctx := context.Background()
	a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}, AllowPending: true}, window)
	if err != nil {
		t.Fatal(err)
	}
	got := h.Exec(t, "ls "+guard.BaseDir+"; test -d /root/elsewhere && echo elsewhere kept")
	want := "20200101T000000-00000000000000a3\n20200101T000000-00000000000000a4\n20200101T000000-00000000000000a5\n" + a.ID() + "\nelsewhere kept\n"
	if got != want {
		t.Errorf("after Arm:\n%s\nwant:\n%s", got, want)
	}
	if err := a.Disarm(ctx, c); err != nil {
		t.Fatal(err)
	}
	// The one still pending (its 60-day timeout runs) refuses a plain Arm.
	if _, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}}, window); err == nil ||
		!strings.Contains(err.Error(), "sudo sh "+guard.BaseDir+"/20200101T000000-00000000000000a4/rollback disarm") {
		t.Errorf("Arm with a pending guard: %v", err)
	}
}
