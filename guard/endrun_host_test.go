package guard_test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/testhost"
)

// When the timer fires while the run that armed it is still at work over
// its connection, the rollback first ends every process of that
// connection (they carry its HAKO_CONN): the command under way, what it
// left running in a session of its own, the SFTP server started through
// sudo. Else what they do after the restore would stand: here a command
// that keeps writing the guarded file would undo the restore. Afterwards
// the file is as saved and stays so, and no process of the connection is
// left on the host.
func TestTimerEndsTheRunsProcesses(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		setUp(t, h)
		c := dial(t, h)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}}, window)
		if err != nil {
			t.Fatal(err)
		}
		conn := strings.TrimSpace(h.Exec(t, "cat "+a.Dir()+"/conn"))
		if len(conn) != 32 {
			t.Fatalf("the guard recorded the connection %q", conn)
		}
		// The SFTP server (through sudo) starts with the first write.
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v2\n"), Mode: 0o640, Owner: "root", Group: "adm"}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := c.Run(ctx, `setsid sleep 3600 </dev/null >/dev/null 2>&1 &
while :; do printf 'late\n' >`+guarded+`; sleep 0.2; done`)
			done <- err
		}()
		of := func() string {
			return h.Exec(t, `grep -lzxF "HAKO_CONN=`+conn+`" /proc/[0-9]*/environ 2>/dev/null | while IFS=/ read -r _ _ pid _; do ps -o args= -p "$pid"; done; true`)
		}
		for p := of(); !strings.Contains(p, "sleep 3600") || !strings.Contains(p, "sftp-server"); p = of() {
			if time.Now().After(a.Deadline()) {
				t.Fatalf("the run's processes did not start before the deadline:\n%s", p)
			}
			time.Sleep(50 * time.Millisecond)
		}

		waitRolledBack(t, h, a)
		select {
		case err := <-done:
			t.Logf("the run's command ended: %v", err)
		case <-time.After(30 * time.Second):
			t.Error("the run's command still runs 30 s after the rollback")
		}
		time.Sleep(time.Second) // a write still to come would land by now
		log := h.Exec(t, "cat "+a.Dir()+"/log")
		if got := h.Exec(t, "cat "+guarded); got != "v1\n" {
			t.Errorf("%s after the rollback: %q, want the saved v1\n%s", guarded, got, log)
		}
		if p := of(); p != "" {
			t.Errorf("processes of the run's connection left after the rollback:\n%s", p)
		}
		if !strings.Contains(log, "processes the run still had under way") || !strings.Contains(log, "rollback done: ok") {
			t.Errorf("rollback log:\n%s", log)
		}
	})
}

// Once the timer has rolled back, the run that armed the guard changes
// nothing more over its connection: a command it starts afterwards, a
// write as root over the SFTP server it started before (which the
// rollback ended) and a write as another user (whose server starts
// afterwards) refuse, and the restored file stays as saved. The guard's own
// commands over that connection still answer (Disarm: too late;
// RollbackNow runs again), and a new connection works as before.
func TestTimerRefusesTheRunsLaterCommands(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		setUp(t, h)
		c := dial(t, h)
		ctx := context.Background()
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}}, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// Written over SFTP: the run's SFTP server is up when the timer
		// ends it, as in a real run.
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v2\n"), Mode: 0o640, Owner: "root", Group: "adm"}); err != nil {
			t.Fatal(err)
		}
		waitRolledBack(t, h, a)

		res, err := c.Run(ctx, "echo late >"+guarded)
		if !errors.Is(err, hosts.ErrGuardRolledBack) {
			t.Errorf("a command after the rollback: %+v %v", res, err)
		}
		err = c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("late\n"), Mode: 0o640, Owner: "root", Group: "adm"})
		if !errors.Is(err, hosts.ErrGuardRolledBack) {
			t.Errorf("a write after the rollback: %v", err)
		}
		err = c.WriteFile(ctx, hosts.FileWrite{Path: "/home/" + h.User + "/hako-late", Content: []byte("late\n"), Mode: 0o644, Owner: h.User, Group: h.User})
		if !errors.Is(err, hosts.ErrGuardRolledBack) {
			t.Errorf("a write as %s after the rollback: %v", h.User, err)
		}
		if got := h.Exec(t, "cat "+guarded+"; ls /home/"+h.User+"/hako-late 2>&1 || true"); !strings.HasPrefix(got, "v1\n") || !strings.Contains(got, "No such file") {
			t.Errorf("%s and the late file after the refused commands:\n%s", guarded, got)
		}

		var rb *guard.RolledBackError
		if err := a.Disarm(ctx, c); !errors.As(err, &rb) || !strings.Contains(rb.Log, "rollback done: ok") {
			t.Errorf("Disarm over the run's connection: %v", err)
		}
		if err := a.RollbackNow(ctx, c); err != nil {
			t.Errorf("RollbackNow over the run's connection: %v", err)
		}
		if out := run(t, dial(t, h), "echo new >"+guarded+"; cat "+guarded); out != "new\n" {
			t.Errorf("a new connection: %q", out)
		}
	})
}

// A rollback by hand (`sh .../rollback now` on the host, as the
// pending-rollback refusal says) does as the timer does: the run that
// armed the guard may still be at work from elsewhere, so its SFTP server
// is ended and its later commands and writes refuse; the scheduled
// rollback is cancelled. hako's own RollbackNow over a run's connection
// leaves no mark: that run's commands go on.
func TestRollbackByHandRefusesTheRunsLaterCommands(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		setUp(t, h)
		c := dial(t, h)
		ctx := context.Background()
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}}, window)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v2\n"), Mode: 0o640, Owner: "root", Group: "adm"}); err != nil {
			t.Fatal(err)
		}
		out := h.Exec(t, "sh "+a.Dir()+"/rollback now; echo rc=$?; cat "+a.Dir()+"/log")
		if !strings.Contains(out, "rc=0") || !strings.Contains(out, "rolling back (now)") || !regexp.MustCompile(`ended the [1-9][0-9]* processes the run still had under way`).MatchString(out) {
			t.Errorf("the rollback by hand (want the run's SFTP server ended):\n%s", out)
		}
		if res, err := c.Run(ctx, "echo late >"+guarded); !errors.Is(err, hosts.ErrGuardRolledBack) {
			t.Errorf("a command after the rollback by hand: %+v %v", res, err)
		}
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("late\n"), Mode: 0o640, Owner: "root", Group: "adm"}); !errors.Is(err, hosts.ErrGuardRolledBack) {
			t.Errorf("a write after the rollback by hand: %v", err)
		}
		if got := h.Exec(t, "cat "+guarded); got != "v1\n" {
			t.Errorf("%s after the rollback by hand: %q, want the saved v1", guarded, got)
		}
		assertNotScheduled(t, h, a)

		// hako's own rollback: no mark, the connection still serves.
		c2 := dial(t, h)
		a2, err := guard.Arm(ctx, c2, guard.Snapshot{Paths: []string{guarded}}, window)
		if err != nil {
			t.Fatal(err)
		}
		if err := c2.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v3\n"), Mode: 0o640, Owner: "root", Group: "adm"}); err != nil {
			t.Fatal(err)
		}
		if err := a2.RollbackNow(ctx, c2); err != nil {
			t.Fatal(err)
		}
		if got := h.Exec(t, "ls "+a2.Dir()+"/ | grep -c rolledback-conn || true"); got != "0\n" {
			t.Errorf("hako's own rollback left %s marks", strings.TrimSpace(got))
		}
		if out := run(t, c2, "echo after >"+guarded+"; cat "+guarded); out != "after\n" {
			t.Errorf("the connection after hako's own rollback: %q", out)
		}
		if err := c2.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v4\n"), Mode: 0o640, Owner: "root", Group: "adm"}); err != nil {
			t.Errorf("a write after hako's own rollback: %v", err)
		}
	})
}

// assertNotScheduled: a's scheduled rollback is cancelled (the timer
// unit inactive, or the scheduler process gone).
func assertNotScheduled(t *testing.T, h *testhost.Host, a *guard.Armed) {
	t.Helper()
	var out string
	switch a.Scheduler() {
	case "systemd":
		out = h.Exec(t, "systemctl is-active hako-guard-"+a.ID()+".timer || true")
		out = strings.TrimSpace(out)
		if out == "inactive" {
			return
		}
	case "process":
		out = h.Exec(t, "if kill -0 "+strconv.Itoa(a.PID())+" 2>/dev/null; then echo running; else echo gone; fi")
		if out == "gone\n" {
			return
		}
	}
	t.Errorf("the scheduled rollback (%s) is not cancelled: %q", a.Scheduler(), out)
}
