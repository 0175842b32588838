package guard_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/testhost"
)

// Every test runs on a lite host (a detached process schedules the
// rollback) and on a systemd host (a transient timer).
func forEachInit(t *testing.T, f func(t *testing.T, h *testhost.Host)) {
	t.Helper()
	testhost.Require(t)
	t.Parallel()
	for _, init := range []string{testhost.InitLite, testhost.InitSystemd} {
		t.Run(init, func(t *testing.T) {
			t.Parallel()
			f(t, testhost.Start(t, testhost.Options{Init: init}))
		})
	}
}

func dialPort(ctx context.Context, t *testing.T, h *testhost.Host, knownHosts string, port int, become bool, timeout time.Duration) (*hosts.SSHHost, error) {
	t.Helper()
	return hosts.Dial(ctx, hosts.Config{Name: "pi", Address: h.Addr, Port: port, User: h.User,
		IdentityFiles: []string{h.KeyFile}, KnownHostsFile: knownHosts, Become: become, ConnectTimeout: timeout})
}

// connectTimeout bounds a connection the tests expect to work (TCP and
// the SSH handshake). It is generous: these tests run beside the
// end-to-end tests on a loaded machine, where an sshd can take seconds to
// finish a handshake; the tests are about behaviour, not speed.
const connectTimeout = 30 * time.Second

// failTimeout bounds a connection the tests expect to fail because the
// port is closed or dropped. Too short for a loaded machine, it could only
// make such a check pass wrongly, never fail: the checks beside it (what
// sshd listens on) do not depend on it.
const failTimeout = 500 * time.Millisecond

// window is how long a test gives itself to act before a guard's deadline.
// It is generous: on a loaded machine a few SSH round trips can take
// seconds, and a Disarm that reaches the host after the deadline finds the
// change rolled back. Tests wait past it, in parallel.
const window = 20 * time.Second

// settle is how long past a guard's deadline a test waits for its rollback
// to start or finish before it fails. Only a broken rollback takes this
// long; on a loaded machine a working one has taken over 10 s (restarting
// sshd, reloading ufw), and a passing test waits only as long as it takes.
const settle = 2 * time.Minute

// dial connects as root over the host's usual port.
func dial(t *testing.T, h *testhost.Host) *hosts.SSHHost {
	t.Helper()
	c, err := dialPort(context.Background(), t, h, h.KnownHostsFile(t), h.Port, true, connectTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run runs cmd through c and fails the test unless it exits 0.
func run(t *testing.T, c hosts.Host, cmd string) string {
	t.Helper()
	res, err := c.Run(context.Background(), cmd)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%q: exit %d, %v\n%s%s", cmd, res.ExitCode, err, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

const (
	guarded    = "/etc/hako-guarded.conf"
	restartSSH = `if [ -d /run/systemd/system ]; then systemctl restart ssh; else service ssh restart >/dev/null; fi`
	// state is what the tests change and rollback must put back, read
	// inside the host: contents, modes and owners of the files, whether
	// ufw is active, its rules, and the ports sshd listens on.
	state = `cd /etc && sha256sum hako-guarded.conf ssh/sshd_config ufw/user.rules ufw/user6.rules ufw/ufw.conf default/ufw &&
stat -c '%n %a %U:%G' hako-guarded.conf ssh/sshd_config ufw/user.rules ufw/ufw.conf &&
ufw status && ss -Hltn | awk '{print $4}' | sort`
)

func setUp(t *testing.T, h *testhost.Host) (before string) {
	t.Helper()
	h.Exec(t, "printf 'v1\\n' >"+guarded+" && chown root:adm "+guarded+" && chmod 0640 "+guarded)
	return h.Exec(t, state)
}

// leftovers lists what a finished guard must not leave: its timer or
// service, its scheduler process.
func leftovers(t *testing.T, h *testhost.Host) string {
	t.Helper()
	// [h] keeps the grep and the shell running it out of the match.
	return h.Exec(t, `ps -eo stat=,pid=,args= | grep '[h]ako-guard' | grep -v '^Z' || true
if [ -d /run/systemd/system ]; then systemctl list-units --all --no-legend --plain '[h]ako-guard-*' ; systemctl list-timers --all --no-legend '[h]ako-guard-*'; fi`)
}

// waitReachable connects as root once the host's port answers again. It
// tries the port (TCP) every 100 ms with failTimeout, as ufw drops it until
// the rollback, and only then logs in, with the generous connectTimeout.
func waitReachable(t *testing.T, h *testhost.Host, knownHosts string, until time.Time) (*hosts.SSHHost, time.Time) {
	t.Helper()
	err := errors.New("the port does not answer")
	for {
		if !tcpRefusedOrDropped(h.Addr, h.Port) {
			var c *hosts.SSHHost
			c, err = dialPort(context.Background(), t, h, knownHosts, h.Port, true, connectTimeout)
			if err == nil {
				t.Cleanup(func() { c.Close() })
				return c, time.Now()
			}
		}
		if time.Now().After(until) {
			t.Fatalf("host still unreachable on port %d: %v\n%s", h.Port, err, h.Exec(t, "cat "+guard.BaseDir+"/*/log 2>&1; tail -5 /var/log/sshd.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitRolledBack waits for the rollback to have finished: it writes its
// marker last.
func waitRolledBack(t *testing.T, h *testhost.Host, a *guard.Armed) {
	t.Helper()
	for h.Exec(t, "test -e "+a.Dir()+"/rolledback && echo yes || true") != "yes\n" {
		if time.Now().After(a.Deadline().Add(settle)) {
			t.Fatalf("no rollback:\n%s", h.Exec(t, "ls -la "+a.Dir()+"; cat "+a.Dir()+"/log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tcpRefusedOrDropped(addr string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, strconv.Itoa(port)), failTimeout)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// 1. The change cuts hako off: sshd moves to port 2222 and ufw blocks port
// 22. With the connection closed, the host rolls back by itself: the file,
// sshd_config and ufw are back, sshd is restarted, port 22 answers again.
func TestRollsBackByItselfWhenCutOff(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		before := setUp(t, h)
		knownHosts := h.KnownHostsFile(t)
		c := dial(t, h)
		ctx := context.Background()

		t0 := time.Now()
		a, err := guard.Arm(ctx, c, guard.Snapshot{
			Paths:   []string{"/etc/ssh/sshd_config", guarded},
			UFW:     guard.UFWFiles,
			Restart: []string{"ssh"},
		}, window)
		if err != nil {
			t.Fatal(err)
		}
		armed := time.Since(t0)
		t.Logf("timing: Arm %v (scheduler %s pid %d)", armed.Round(time.Millisecond), a.Scheduler(), a.PID())
		wantSched := map[string]string{testhost.InitLite: "process", testhost.InitSystemd: "systemd"}[h.Init]
		if a.Scheduler() != wantSched {
			t.Errorf("scheduler %q, want %q", a.Scheduler(), wantSched)
		}
		if got := h.Exec(t, "stat -c '%a %U' "+guard.BaseDir+" "+a.Dir()); got != "700 root\n700 root\n" {
			t.Errorf("snapshot dirs: %q", got)
		}

		if err := c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v2\n"), Mode: 0o600, Owner: "root", Group: "root"}); err != nil {
			t.Fatal(err)
		}
		run(t, c, `ufw allow 2222/tcp >/dev/null && ufw --force enable >/dev/null && printf '\nPort 2222\n' >>/etc/ssh/sshd_config && `+restartSSH)
		c.Close()

		// Cut off for real: sshd is on 2222 only and ufw drops port 22.
		if listen := h.Exec(t, "ss -Hltn | awk '{print $4}'"); strings.Contains(listen, ":22\n") || !strings.Contains(listen, ":2222") {
			t.Fatalf("sshd listens on:\n%s", listen)
		}
		if !tcpRefusedOrDropped(h.Addr, h.Port) {
			t.Fatal("port 22 still answers after the change")
		}
		if _, err := dialPort(ctx, t, h, knownHosts, h.Port, true, failTimeout); err == nil {
			t.Fatal("SSH on port 22 works after the change")
		}

		c2, back := waitReachable(t, h, knownHosts, a.Deadline().Add(settle))
		t.Logf("timing: reachable again %v after Arm returned, %v after the deadline", back.Sub(t0.Add(armed)).Round(time.Millisecond), back.Sub(a.Deadline()).Round(time.Millisecond))
		if back.Before(a.Deadline()) {
			t.Errorf("rolled back %v before the deadline", a.Deadline().Sub(back))
		}
		waitRolledBack(t, h, a)
		t.Logf("timing on the host: armed → rollback finished %s s", strings.TrimSpace(h.Exec(t, "cd "+a.Dir()+" && stat -c %.3Y armed rolledback | awk 'NR==1{a=$1} NR==2{print $1-a}'")))
		if after := h.Exec(t, state); after != before {
			t.Errorf("state after rollback:\n%s\nwant (as armed):\n%s", after, before)
		}
		log := h.Exec(t, "cat "+a.Dir()+"/log")
		for _, want := range []string{"rolling back (timer)", "restored /etc/ssh/sshd_config", "restored " + guarded,
			"restored /etc/ufw/user.rules", "ufw: disabled (inactive when armed)", "restarted ssh", "rollback done: ok"} {
			if !strings.Contains(log, want) {
				t.Errorf("rollback log lacks %q:\n%s", want, log)
			}
		}
		if h.Init == testhost.InitSystemd {
			if j := h.Exec(t, "journalctl -q -t hako-guard --no-pager"); !strings.Contains(j, a.ID()+": rollback done: ok") {
				t.Errorf("journal:\n%s", j)
			}
		}
		if out, code := h.SSH(t, "echo back"); code != 0 || out != "back\n" {
			t.Errorf("ssh on port %d after rollback: exit %d, %q", h.Port, code, out)
		}

		// Too late to confirm, over the new connection.
		err = guard.Resume(a.ID()).Disarm(ctx, c2)
		var rb *guard.RolledBackError
		if !errors.Is(err, guard.ErrRolledBack) || !errors.As(err, &rb) || !strings.Contains(rb.Log, "rollback done: ok") {
			t.Errorf("Disarm after the rollback: %v", err)
		}
		t.Logf("Disarm after rollback: %v", err)
		if l := leftovers(t, h); l != "" {
			t.Errorf("left behind:\n%s", l)
		}
	})
}

// 2. Confirmed in time over a new connection: nothing rolls back, and
// nothing of the guard is left on the host.
func TestDisarmOverNewConnection(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		setUp(t, h)
		c := dial(t, h)
		ctx := context.Background()
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}, UFW: guard.UFWFiles, Restart: []string{"ssh"}}, window)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v2\n"), Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		run(t, c, "ufw allow 22/tcp >/dev/null && ufw --force enable >/dev/null")
		c.Close()
		changed := h.Exec(t, state)

		c2 := dial(t, h)
		t0 := time.Now()
		if err := guard.Resume(a.ID()).Disarm(ctx, c2); err != nil {
			t.Fatal(err)
		}
		t.Logf("timing: Disarm %v, %v before the deadline", time.Since(t0).Round(time.Millisecond), time.Until(a.Deadline()).Round(time.Millisecond))
		if out := h.Exec(t, "ls -A "+guard.BaseDir); out != "" {
			t.Errorf("%s after Disarm: %q", guard.BaseDir, out)
		}
		if l := leftovers(t, h); l != "" {
			t.Errorf("left behind:\n%s", l)
		}

		time.Sleep(time.Until(a.Deadline()) + 2*time.Second) // past the deadline and the timer's accuracy
		if after := h.Exec(t, state); after != changed {
			t.Errorf("state changed after a disarmed deadline:\n%s\nwant:\n%s", after, changed)
		}
		if h.Init == testhost.InitSystemd {
			if j := h.Exec(t, "journalctl -q -t hako-guard --no-pager"); !strings.Contains(j, "disarmed") || strings.Contains(j, "rolling back") {
				t.Errorf("journal:\n%s", j)
			}
		}
		if err := guard.Resume(a.ID()).Disarm(ctx, c2); !errors.Is(err, guard.ErrNotArmed) {
			t.Errorf("second Disarm: %v, want ErrNotArmed", err)
		}
	})
}

// 3. RollbackNow through the open session restores at once (restarting
// sshd under it), cancels the timer, and leaves the session working.
func TestRollbackNow(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		before := setUp(t, h)
		c := dial(t, h)
		ctx := context.Background()
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded, "/etc/ssh/sshd_config"}, UFW: guard.UFWFiles, Restart: []string{"ssh"}}, window)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v2\n"), Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		run(t, c, `ufw allow 22/tcp >/dev/null && ufw allow 2222/tcp >/dev/null && ufw --force enable >/dev/null && printf '\nPort 2222\n' >>/etc/ssh/sshd_config && `+restartSSH)

		t0 := time.Now()
		if err := a.RollbackNow(ctx, c); err != nil {
			t.Fatal(err)
		}
		t.Logf("timing: RollbackNow %v", time.Since(t0).Round(time.Millisecond))
		if after := h.Exec(t, state); after != before {
			t.Errorf("state after RollbackNow:\n%s\nwant:\n%s", after, before)
		}
		if out := run(t, c, "echo still here"); out != "still here\n" {
			t.Errorf("session after RollbackNow: %q", out)
		}
		if l := leftovers(t, h); l != "" {
			t.Errorf("left behind:\n%s", l)
		}
		if err := a.Disarm(ctx, c); !errors.Is(err, guard.ErrRolledBack) {
			t.Errorf("Disarm after RollbackNow: %v, want ErrRolledBack", err)
		}
		// The cancelled timer does not run again.
		time.Sleep(time.Until(a.Deadline()) + 2*time.Second)
		if log := h.Exec(t, "cat "+a.Dir()+"/log"); strings.Contains(log, "timer") || strings.Count(log, "rolling back") != 1 {
			t.Errorf("log:\n%s", log)
		}
		// It can be run again: idempotent.
		if err := a.RollbackNow(ctx, c); err != nil {
			t.Fatal(err)
		}
		if after := h.Exec(t, state); after != before {
			t.Errorf("state after a second RollbackNow:\n%s\nwant:\n%s", after, before)
		}
	})
}

// 4. Paths absent when armed are removed by the rollback, a file and a
// directory tree alike.
func TestAbsentPathsRemoved(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		c := dial(t, h)
		ctx := context.Background()
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{"/etc/hako-new.conf", "/etc/hako-new.d", "/etc/motd"}}, window)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: "/etc/hako-new.conf", Content: []byte("new\n"), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		run(t, c, "mkdir -p /etc/hako-new.d/sub && echo x >/etc/hako-new.d/sub/f")
		// Temp files of writes cut short, beside a path absent when armed
		// and beside one unchanged; and a name that is no temp file of
		// hako's.
		run(t, c, "echo half >/etc/.hako-new.conf.hako-0123456789ab && echo half >/etc/.motd.hako-abcdef012345 && echo mine >/etc/.motd.hako-0123")
		c.Close()

		for {
			if h.Exec(t, "ls -d /etc/hako-new.conf /etc/hako-new.d 2>/dev/null || true") == "" {
				break
			}
			if time.Now().After(a.Deadline().Add(settle)) {
				t.Fatalf("not removed:\n%s", h.Exec(t, "ls -ld /etc/hako-new*; cat "+a.Dir()+"/log"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		waitRolledBack(t, h, a)
		log := h.Exec(t, "cat "+a.Dir()+"/log")
		for _, want := range []string{"removed /etc/hako-new.conf (absent when armed)", "removed /etc/hako-new.d (absent when armed)", "unchanged /etc/motd",
			"removed /etc/.hako-new.conf.hako-0123456789ab (a write of the run cut short)", "removed /etc/.motd.hako-abcdef012345 (a write of the run cut short)", "rollback done: ok"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		if got := h.Exec(t, "ls -a /etc | grep -F .hako- || true"); got != ".motd.hako-0123\n" {
			t.Errorf("hidden files named .hako- in /etc after the rollback: %q, want only the one not hako's", got)
		}
		h.Exec(t, "rm /etc/.motd.hako-0123")
		if l := leftovers(t, h); l != "" {
			t.Errorf("left behind:\n%s", l)
		}
	})
}

// A failure while arming leaves nothing scheduled and no snapshot; so does
// a connection that cannot become root.
func TestArmFailureLeavesNothing(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		c := dial(t, h)
		ctx := context.Background()
		// The scheduler fails after the snapshot is saved and the armed
		// marker written: the last step of arming.
		stub := map[string]string{testhost.InitLite: "setsid", testhost.InitSystemd: "systemd-run"}[h.Init]
		h.Exec(t, fmt.Sprintf("printf '#!/bin/sh\\nexit 1\\n' >/usr/local/sbin/%s && chmod 755 /usr/local/sbin/%[1]s", stub))
		_, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}, UFW: guard.UFWFiles}, 2*time.Second)
		if err == nil || !strings.Contains(err.Error(), "nothing is armed") {
			t.Errorf("Arm with a failing %s: %v", stub, err)
		}
		t.Logf("Arm with a failing %s: %v", stub, err)
		if out := h.Exec(t, "ls -A "+guard.BaseDir); out != "" {
			t.Errorf("%s after a failed Arm: %q", guard.BaseDir, out)
		}
		if l := leftovers(t, h); l != "" {
			t.Errorf("left behind:\n%s", l)
		}
		h.Exec(t, "rm /usr/local/sbin/"+stub)

		user, err := dialPort(ctx, t, h, h.KnownHostsFile(t), h.Port, false, connectTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer user.Close()
		if _, err := guard.Arm(ctx, user, guard.Snapshot{Paths: []string{guarded}}, 2*time.Second); err == nil || !strings.Contains(err.Error(), "needs root") {
			t.Errorf("Arm without become: %v", err)
		}
		if err := guard.Resume("20260101T000000-0000000000000000").Disarm(ctx, c); !errors.Is(err, guard.ErrNotArmed) {
			t.Errorf("Disarm of an unknown id: %v", err)
		}
	})
}

// A Disarm that arrives while the rollback runs waits for it (they share a
// lock) and then says it was too late; it never half-cancels a rollback.
func TestDisarmDuringRollbackIsTooLate(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		setUp(t, h)
		// A service whose restart takes 5 s keeps the rollback running
		// (long enough for Disarm to arrive during it, even under load).
		if h.Init == testhost.InitSystemd {
			h.Exec(t, "printf '[Service]\\nType=oneshot\\nExecStart=/bin/sleep 5\\n' >/etc/systemd/system/hako-slow.service && systemctl daemon-reload")
		} else {
			h.Exec(t, "printf '#!/bin/sh\\nsleep 5\\n' >/etc/init.d/hako-slow && chmod 755 /etc/init.d/hako-slow")
		}
		c := dial(t, h)
		ctx := context.Background()
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}, Restart: []string{"hako-slow"}}, window)
		if err != nil {
			t.Fatal(err)
		}
		run(t, c, "echo v2 >"+guarded)
		for !strings.Contains(h.Exec(t, "cat "+a.Dir()+"/log 2>/dev/null || true"), "restored "+guarded) {
			if time.Now().After(a.Deadline().Add(settle)) {
				t.Fatal("the rollback did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
		t0 := time.Now()
		err = a.Disarm(ctx, c)
		t.Logf("timing: Disarm waited %v for the running rollback: %v", time.Since(t0).Round(time.Millisecond), err)
		if !errors.Is(err, guard.ErrRolledBack) {
			t.Errorf("Disarm during the rollback: %v, want ErrRolledBack", err)
		}
		// Disarm waits on the rollback's lock: when it returns, the
		// rollback has finished (checked by state, not by a clock).
		if got := h.Exec(t, "cat "+guarded+"; tail -1 "+a.Dir()+"/log"); !strings.HasPrefix(got, "v1\n") || !strings.HasSuffix(got, "rollback done: ok\n") {
			t.Errorf("after: %q", got)
		}
	})
}

// The PID file is checked against the process before anything is killed: a
// PID that now belongs to another process is left alone. (Lite hosts: the
// systemd scheduler has no PID.) The real scheduler then finds the snapshot
// gone and does nothing.
func TestDisarmKillsOnlyItsOwnProcess(t *testing.T) {
	testhost.Require(t)
	t.Parallel()
	h := testhost.Start(t, testhost.Options{})
	setUp(t, h)
	c := dial(t, h)
	ctx := context.Background()
	a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}}, window)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, "echo v2 >"+guarded)
	decoy := strings.TrimSpace(h.Exec(t, "setsid sh -c 'sleep 60' hako-guard-decoy </dev/null >/dev/null 2>&1 & echo $!"))
	defer h.Exec(t, "kill "+decoy+" 2>/dev/null || true")
	h.Exec(t, "echo "+decoy+" >"+a.Dir()+"/pid")
	if err := a.Disarm(ctx, c); err != nil {
		t.Fatal(err)
	}
	if h.Exec(t, "kill -0 "+decoy+" && echo alive") != "alive\n" {
		t.Error("Disarm killed a process that was not its scheduler")
	}
	time.Sleep(time.Until(a.Deadline()) + time.Second)
	if got := h.Exec(t, "cat "+guarded); got != "v2\n" {
		t.Errorf("%s after the deadline: %q (rolled back after Disarm)", guarded, got)
	}
	if l := h.Exec(t, "ps -eo stat=,args= | grep '[h]ako-guard-2' | grep -v '^Z' || true"); l != "" {
		t.Errorf("scheduler still there after its deadline:\n%s", l)
	}
}

// Network services re-read the restored files when the timer rolls back
// (the host is cut off), if they run; a rollback through hako's session
// leaves the working network alone.
func TestTimerReappliesNetwork(t *testing.T) {
	testhost.Require(t)
	t.Parallel()
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	setUp(t, h)
	h.Exec(t, `printf '[Service]\nExecStartPre=/bin/sh -c "echo start >>/run/hako-net.starts"\nExecStart=/bin/sleep infinity\n' >/etc/systemd/system/hako-net.service && systemctl daemon-reload && systemctl start hako-net`)
	starts := func() string { return h.Exec(t, "wc -l </run/hako-net.starts") }
	c := dial(t, h)
	ctx := context.Background()
	reapply := []string{"hako-net", "hako-not-installed"}

	a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}, Restart: []string{"ssh"}, Reapply: reapply}, window)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, "echo v2 >"+guarded)
	if err := a.RollbackNow(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := starts(); got != "1\n" {
		t.Errorf("RollbackNow restarted the network service: %s starts", got)
	}

	a, err = guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded}, Restart: []string{"ssh"}, Reapply: reapply}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, "echo v2 >"+guarded)
	c.Close()
	waitRolledBack(t, h, a)
	log := h.Exec(t, "cat "+a.Dir()+"/log")
	if got := starts(); got != "2\n" || !strings.Contains(log, "restarted hako-net (network)") || strings.Contains(log, "hako-not-installed") || !strings.Contains(log, "rollback done: ok") {
		t.Errorf("%s starts; log:\n%s", strings.TrimSpace(got), log)
	}
}

// Root saves and restores guarded paths by path, so Arm refuses a path
// whose folder, or one on the way to it, someone other than root can
// change: she could point it elsewhere and have the rollback replace or
// delete a file of that name there. The error names the path and the
// folder, and nothing is armed. A root folder on the way is fine.
func TestArmRefusesPathInUserFolder(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		setUp(t, h)
		h.Exec(t, `mkdir -p /etc/ssh/keys.d/alice /etc/ssh/keys.d/root && chown pi:pi /etc/ssh/keys.d/alice &&
echo key >/etc/ssh/keys.d/alice/authorized_keys && ln -s /etc/ssh /etc/ssh/keys.d/alice/link && mkdir -m 1777 /etc/hako-shared`)
		c := dial(t, h)
		ctx := context.Background()
		const pi = ", or one on the way to it, can be changed by pi, not root alone"
		for p, want := range map[string]string{
			"/etc/ssh/keys.d/alice/authorized_keys": "the folder /etc/ssh/keys.d/alice" + pi,
			"/etc/ssh/keys.d/alice/absent":          "the folder /etc/ssh/keys.d/alice" + pi,
			// Its folder is missing: the nearest one that exists decides.
			"/etc/ssh/keys.d/alice/new.d/f": "the folder /etc/ssh/keys.d/alice" + pi,
			// A link in her folder to a root folder: she can change it.
			"/etc/ssh/keys.d/alice/link/sshd_config": "the folder /etc/ssh/keys.d/alice/link" + pi,
			// Anyone may write there (sticky or not).
			"/etc/hako-shared/f": "the folder /etc/hako-shared, or one on the way to it, can be changed by someone other than root",
		} {
			_, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded, p}}, window)
			if err == nil || !strings.Contains(err.Error(), "cannot guard "+p+": "+want) || !strings.Contains(err.Error(), "nothing is armed") || len(err.Error()) > 300 {
				t.Errorf("Arm of %s: %v, want an error with %q", p, err, want)
			}
		}
		if out := h.Exec(t, "ls -A "+guard.BaseDir); out != "" {
			t.Errorf("%s after refused Arms: %q", guard.BaseDir, out)
		}
		if l := leftovers(t, h); l != "" {
			t.Errorf("left behind:\n%s", l)
		}
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{guarded, "/etc/ssh/keys.d/root/f", "/etc/ssh/keys.d/new.d/f"}}, window)
		if err != nil {
			t.Fatalf("Arm of paths in root's folders: %v", err)
		}
		if err := a.Disarm(ctx, c); err != nil {
			t.Fatal(err)
		}
	})
}

// Should a folder on the way to a guarded path become a user's between Arm
// and the rollback, and she point it at a root folder, the rollback leaves
// that path alone (the file of that name in the root folder is untouched,
// no temp file lands there), says so in its log, and restores the rest.
func TestRollbackSkipsPathWhoseFolderChanged(t *testing.T) {
	forEachInit(t, func(t *testing.T, h *testhost.Host) {
		before := setUp(t, h)
		const victim = "victim f\nvictim n\nf\nn\n"
		h.Exec(t, `mkdir -p /etc/hako-u/sub && echo saved >/etc/hako-u/sub/f &&
mkdir -m 0700 /root/victim && echo 'victim f' >/root/victim/f && echo 'victim n' >/root/victim/n`)
		victimState := "cat /root/victim/f /root/victim/n && ls -A /root/victim"
		if got := h.Exec(t, victimState); got != victim {
			t.Fatalf("victim before: %q", got)
		}
		c := dial(t, h)
		ctx := context.Background()
		a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{"/etc/hako-u/sub/f", "/etc/hako-u/sub/n", guarded}}, window)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: guarded, Content: []byte("v2\n"), Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		// The change gives her the folder; she swaps its subfolder for a
		// link to a folder of root's.
		h.Exec(t, "chown pi:pi /etc/hako-u")
		if out, code := h.SSH(t, "mv /etc/hako-u/sub /etc/hako-u/old && ln -s /root/victim /etc/hako-u/sub"); code != 0 {
			t.Fatalf("as pi: exit %d: %s", code, out)
		}

		err = a.RollbackNow(ctx, c)
		var re *guard.RollbackError
		if !errors.As(err, &re) {
			t.Errorf("RollbackNow: %v, want a RollbackError", err)
			re = &guard.RollbackError{Log: h.Exec(t, "cat "+a.Dir()+"/log")}
		}
		for _, want := range []string{
			"FAILED: left /etc/hako-u/sub/f as it is: the folder /etc/hako-u/sub, or one on the way to it, can be changed by pi, not root alone",
			"FAILED: left /etc/hako-u/sub/n as it is: the folder /etc/hako-u/sub, or one on the way to it, can be changed by pi, not root alone",
			"restored " + guarded,
		} {
			if !strings.Contains(re.Log, want) {
				t.Errorf("log lacks %q:\n%s", want, re.Log)
			}
		}
		if got := h.Exec(t, victimState); got != victim {
			t.Errorf("the root folder behind her link after the rollback: %q, want %q", got, victim)
		}
		if after := h.Exec(t, state); after != before {
			t.Errorf("state after RollbackNow:\n%s\nwant:\n%s", after, before)
		}
		if l := leftovers(t, h); l != "" {
			t.Errorf("left behind:\n%s", l)
		}
	})
}
