package guard

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
)

// These tests need no test host: they check what is decided on this side.
// guard_test.go runs it all on real hosts.

// fakeHost answers Run from a list of replies and records the commands.
type fakeHost struct {
	cmds    []string
	replies []fakeReply
}

type fakeReply struct {
	res hosts.Result
	err error
}

func (f *fakeHost) Name() string { return "pi" }
func (f *fakeHost) Run(_ context.Context, cmd string) (hosts.Result, error) {
	f.cmds = append(f.cmds, cmd)
	if len(f.replies) == 0 {
		return hosts.Result{ExitCode: 99}, nil
	}
	r := f.replies[0]
	f.replies = f.replies[1:]
	return r.res, r.err
}
func (f *fakeHost) WriteFile(context.Context, hosts.FileWrite) error { return errors.New("unused") }
func (f *fakeHost) MakeDir(context.Context, hosts.Dir) error         { return errors.New("unused") }
func (f *fakeHost) Close() error                                     { return nil }

func TestSnapshotCheck(t *testing.T) {
	for _, tc := range []struct {
		s       Snapshot
		wantErr string
	}{
		{Snapshot{Paths: []string{"etc/motd"}}, "not absolute"},
		{Snapshot{Paths: []string{""}}, "not absolute"},
		{Snapshot{Paths: []string{"/etc/../motd"}}, "not clean"},
		{Snapshot{Paths: []string{"/etc/ssh/"}}, "not clean"},
		{Snapshot{Paths: []string{"/"}}, "cannot be guarded"},
		{Snapshot{Paths: []string{"/etc/a\nb"}}, "newline"},
		{Snapshot{Paths: []string{"/var/lib/hako/guard/x"}}, "overlaps"},
		{Snapshot{Paths: []string{"/var/lib/hako"}}, "overlaps"},
		{Snapshot{Paths: []string{"/var/lib/hako/guard"}}, "overlaps"},
		{Snapshot{Paths: []string{"/etc/motd"}, Restart: []string{"ssh; reboot"}}, "invalid service name"},
		{Snapshot{UFW: []string{"/etc/ufw/a b.rules"}}, "without spaces"},
		{Snapshot{UFW: []string{"etc/ufw/user.rules"}}, "not an absolute"},
		{Snapshot{Paths: []string{"/etc/motd"}, Restart: []string{"-ssh"}}, "invalid service name"},
		{Snapshot{Restart: []string{"ssh"}}, "nothing to save"},
	} {
		if _, err := tc.s.check(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%+v: %v, want %q", tc.s, err, tc.wantErr)
		}
	}
	paths, err := Snapshot{Paths: []string{"/etc/motd", "/etc/it's here", "/etc/motd"}, Restart: []string{"ssh", "systemd-networkd.service", "getty@tty1"}}.check()
	if err != nil || strings.Join(paths, "|") != "/etc/motd|/etc/it's here" {
		t.Errorf("paths %q, %v", paths, err)
	}
	if _, err := (Snapshot{UFW: UFWFiles}).check(); err != nil {
		t.Errorf("ufw alone: %v", err)
	}
}

// Bad input is refused before anything runs on the host.
func TestRefusedWithoutRunning(t *testing.T) {
	f := &fakeHost{}
	ctx := context.Background()
	if _, err := Arm(ctx, f, Snapshot{Paths: []string{"/etc/motd"}}, 500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "shorter than") {
		t.Errorf("short timeout: %v", err)
	}
	if _, err := Arm(ctx, f, Snapshot{Paths: []string{"relative"}}, time.Minute); err == nil {
		t.Error("relative path accepted")
	}
	for _, id := range []string{"", "../x", "a b", "x'; reboot; '", "-x", strings.Repeat("a", 65)} {
		if err := Resume(id).Disarm(ctx, f); err == nil || !strings.Contains(err.Error(), "invalid guard id") {
			t.Errorf("Disarm(%q): %v", id, err)
		}
		if err := Resume(id).RollbackNow(ctx, f); err == nil || !strings.Contains(err.Error(), "invalid guard id") {
			t.Errorf("RollbackNow(%q): %v", id, err)
		}
	}
	if len(f.cmds) > 0 {
		t.Errorf("ran %d commands", len(f.cmds))
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	now := time.Date(2026, 11, 26, 7, 8, 9, 0, time.FixedZone("x", 3600))
	for range 1000 {
		id, err := newID(now)
		if err != nil {
			t.Fatal(err)
		}
		if !idPattern.MatchString(id) || !strings.HasPrefix(id, "20261126T060809-") || len(id) != 32 || seen[id] {
			t.Fatalf("id %q", id)
		}
		seen[id] = true
	}
}

func TestArmReplies(t *testing.T) {
	ctx := context.Background()
	s := Snapshot{Paths: []string{"/etc/ssh/sshd_config"}, UFW: UFWFiles, Restart: []string{"ssh"}}

	f := &fakeHost{replies: []fakeReply{{res: hosts.Result{Stdout: []byte("armed process 4242\n")}}}}
	t0 := time.Now()
	a, err := Arm(ctx, f, s, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a.Scheduler() != "process" || a.PID() != 4242 || !idPattern.MatchString(a.ID()) || a.Dir() != BaseDir+"/"+a.ID() {
		t.Errorf("armed %+v", a)
	}
	if d := a.Deadline().Sub(t0); d < 90*time.Second || d > 95*time.Second {
		t.Errorf("deadline %v after the call", d)
	}
	if len(f.cmds) != 1 {
		t.Errorf("%d round trips, want 1", len(f.cmds))
	}

	// The script failed: it cleaned up itself; no second command. Its
	// own refusal is shown as it is; anything else with the exit status
	// and all it printed.
	for _, tc := range []struct {
		res  hosts.Result
		want string
	}{
		{hosts.Result{ExitCode: 1, Stderr: []byte("hako guard: systemd-run failed\n")}, `host "pi": guard: nothing is armed: systemd-run failed`},
		{hosts.Result{ExitCode: 1, Stderr: []byte("cp: cannot stat 'x'\nhako guard: cannot save x\n")},
			`host "pi": guard: arming failed (exit status 1), nothing is armed: cp: cannot stat 'x'` + "\n" + `hako guard: cannot save x`},
		{hosts.Result{ExitCode: 2, Stderr: []byte("sh: 1: Syntax error\n")}, `host "pi": guard: arming failed (exit status 2), nothing is armed: sh: 1: Syntax error`},
	} {
		f = &fakeHost{replies: []fakeReply{{res: tc.res}}}
		if _, err := Arm(ctx, f, s, time.Minute); err == nil || err.Error() != tc.want {
			t.Errorf("failed script: %v, want %s", err, tc.want)
		}
		if len(f.cmds) != 1 {
			t.Errorf("%d commands after a failed script", len(f.cmds))
		}
	}

	// The connection failed: the unknown outcome is taken back.
	lost := errors.New("connection lost")
	f = &fakeHost{replies: []fakeReply{{err: lost}, {}}}
	if _, err := Arm(ctx, f, s, time.Minute); !errors.Is(err, lost) || !strings.Contains(err.Error(), "nothing is armed") {
		t.Errorf("lost connection: %v", err)
	}
	if len(f.cmds) != 2 || !strings.Contains(f.cmds[1], "MODE='abort'") {
		t.Errorf("no abort after a lost connection: %q", f.cmds)
	}
	// Output that is not the arming's reply is quoted by its end only:
	// the host decides how much there is.
	f = &fakeHost{replies: []fakeReply{{res: hosts.Result{Stdout: []byte(strings.Repeat("noise ", 100000) + "the end\n")}}, {}}}
	if _, err := Arm(ctx, f, s, time.Minute); err == nil || !strings.Contains(err.Error(), "unexpected output of the arming command") ||
		!strings.Contains(err.Error(), "the end") || len(err.Error()) > 1000 {
		t.Errorf("unexpected output: %.200v (%d bytes)", err, len(fmt.Sprint(err)))
	}
	// ... and when that fails too, the error says what may happen.
	f = &fakeHost{replies: []fakeReply{{err: lost}, {err: lost}}}
	if _, err := Arm(ctx, f, s, time.Minute); err == nil || !strings.Contains(err.Error(), "it may be armed") {
		t.Errorf("lost connection, no abort: %v", err)
	}
}

func TestDisarmReplies(t *testing.T) {
	ctx := context.Background()
	a := Resume("20261126T060809-0123456789abcdef")
	for _, tc := range []struct {
		res   hosts.Result
		check func(error) bool
	}{
		{hosts.Result{Stdout: []byte("hako guard: disarmed 20261126T060809-0123456789abcdef\n")}, func(err error) bool { return err == nil }},
		{hosts.Result{}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "did not run") }},
		{hosts.Result{ExitCode: 3}, func(err error) bool { return errors.Is(err, ErrNotArmed) }},
		{hosts.Result{ExitCode: 4, Stdout: []byte("... rollback done: ok\n")}, func(err error) bool {
			var rb *RolledBackError
			return errors.Is(err, ErrRolledBack) && errors.As(err, &rb) && !rb.Incomplete && strings.Contains(rb.Log, "done: ok")
		}},
		{hosts.Result{ExitCode: 4, Stdout: []byte("... FAILED ...\n... rollback done: incomplete\n")}, func(err error) bool {
			var rb *RolledBackError
			return errors.As(err, &rb) && rb.Incomplete && strings.Contains(err.Error(), "some of its steps failed")
		}},
		{hosts.Result{ExitCode: 1, Stderr: []byte("hako guard: cannot stop the scheduled rollback")}, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "cannot stop") && !errors.Is(err, ErrRolledBack)
		}},
	} {
		f := &fakeHost{replies: []fakeReply{{res: tc.res}}}
		if err := a.Disarm(ctx, f); !tc.check(err) {
			t.Errorf("exit %d: %v", tc.res.ExitCode, err)
		}
	}
	f := &fakeHost{replies: []fakeReply{{res: hosts.Result{ExitCode: 5, Stdout: []byte("x FAILED (exit 1): ufw reload: boom\nx rollback done: incomplete\n")}}}}
	var re *RollbackError
	if err := a.RollbackNow(ctx, f); !errors.As(err, &re) || !strings.Contains(err.Error(), "ufw reload: boom") || errors.Is(err, ErrNoAnswer) {
		t.Errorf("RollbackNow, partial: %v", err)
	}
	// No answer: the outcome is unknown (ErrNoAnswer), the cause kept.
	lost := errors.New("connection lost")
	for name, call := range map[string]func(hosts.Host) error{
		"Disarm":      func(h hosts.Host) error { return a.Disarm(ctx, h) },
		"RollbackNow": func(h hosts.Host) error { return a.RollbackNow(ctx, h) },
	} {
		err := call(&fakeHost{replies: []fakeReply{{err: lost}}})
		if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, lost) || strings.Contains(err.Error(), ErrNoAnswer.Error()) {
			t.Errorf("%s without an answer: %v", name, err)
		}
	}
	// An answer, even a refusal, is not ErrNoAnswer.
	if err := a.Disarm(ctx, &fakeHost{replies: []fakeReply{{res: hosts.Result{ExitCode: 1, Stderr: []byte("sudo: a password is required")}}}}); err == nil || errors.Is(err, ErrNoAnswer) {
		t.Errorf("Disarm refused: %v", err)
	}
}

// The generated scripts are valid sh (dash, as /bin/sh on Debian).
func TestScriptsParse(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	id := "20261126T060809-0123456789abcdef"
	scripts := map[string]string{
		"arm":      armScript(id, []string{"/etc/it's", "/etc/$(reboot)", "/etc/a b"}, Snapshot{UFW: UFWFiles, Restart: []string{"ssh", "getty@tty1"}, Reapply: []string{"dhcpcd"}}, 3500*time.Millisecond),
		"arm-bare": armScript(id, []string{"/etc/motd"}, Snapshot{}, time.Second),
		"rollback": rollbackScript(id, []string{"ssh"}, []string{"dhcpcd", "networking"}),
		"disarm":   runScript(id, "disarm"),
		"now":      runScript(id, "now"),
		"abort":    runScript(id, "abort"),
	}
	for name, s := range scripts {
		out, err := exec.Command(sh, "-n", "-c", s).CombinedOutput()
		if err != nil {
			t.Errorf("%s: sh -n: %v\n%s\n%s", name, err, out, s)
		}
	}
}

// The preambles hand each value to the scripts as it is: run by sh, every
// variable holds exactly what Go set, whatever quotes, $(...), spaces or
// backslashes it holds, and the positional parameters are the paths.
func TestPreambles(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	eval := func(preamble, show string) string {
		t.Helper()
		out, err := exec.Command(sh, "-c", preamble+show).CombinedOutput()
		if err != nil {
			t.Fatalf("sh: %v\n%s\n%s", err, out, preamble)
		}
		return string(out)
	}
	id := "20261126T060809-0123456789abcdef"
	d := BaseDir + "/" + id
	paths := []string{"/etc/it's", "/etc/$(touch /tmp/hako-guard-test-ran)", "/etc/a b", `/etc/back\slash`, "/etc/'\"$HOME\"'"}
	s := Snapshot{UFW: UFWFiles, Restart: []string{"ssh", "getty@tty1"}, Reapply: []string{"dhcpcd"}}
	const showArm = `printf '<%s>\n' "$@" "$ID" "$D" "$BASE" "$PRUNE_DAYS" "$ALLOW_PENDING" "$UFW" "$UFW_FILES" "$TIMEOUT_MS" "$TIMEOUT_S"; printf '%s' "$ROLLBACK"`
	got := eval(armPreamble(id, paths, s, 3500*time.Millisecond), showArm)
	want := "</etc/it's>\n</etc/$(touch /tmp/hako-guard-test-ran)>\n</etc/a b>\n</etc/back\\slash>\n</etc/'\"$HOME\"'>\n" +
		"<" + id + ">\n<" + d + ">\n<" + BaseDir + ">\n<30>\n<>\n<1>\n<" + strings.Join(UFWFiles, " ") + ">\n<3500>\n<3.500>\n" +
		rollbackScript(id, s.Restart, s.Reapply)
	if got != want {
		t.Errorf("arm preamble gives:\n%s\nwant:\n%s", got, want)
	}
	// No ufw, a pending rollback allowed, a timeout of whole seconds.
	got = eval(armPreamble(id, []string{"/etc/motd"}, Snapshot{AllowPending: true}, 61*time.Second), showArm)
	if want := "</etc/motd>\n<" + id + ">\n<" + d + ">\n<" + BaseDir + ">\n<30>\n<1>\n<>\n<>\n<61000>\n<61.000>\n"; !strings.HasPrefix(got, want) {
		t.Errorf("bare arm preamble gives:\n%s\nwant it to start with:\n%s", got, want)
	}
	// The rollback script keeps its own values, to run by hand too.
	got = eval(rollbackPreamble(id, s.Restart, []string{"dhcpcd", "networking"}), `printf '<%s>\n' "$ID" "$D" "$RESTART" "$REAPPLY"`)
	if want := "<" + id + ">\n<" + d + ">\n<ssh getty@tty1>\n<dhcpcd networking>\n"; got != want {
		t.Errorf("rollback preamble gives:\n%s\nwant:\n%s", got, want)
	}
	if !strings.HasPrefix(rollbackScript(id, nil, nil), "#!/bin/sh\n") {
		t.Error("the rollback script does not start with #!/bin/sh")
	}
	for _, mode := range []string{"disarm", "now", "abort"} {
		got = eval(runPreamble(id, mode), `printf '<%s>\n' "$D" "$MODE" "$NOT_ARMED"`)
		if want := "<" + d + ">\n<" + mode + ">\n<3>\n"; got != want {
			t.Errorf("%s preamble gives:\n%s\nwant:\n%s", mode, got, want)
		}
	}
}

// hosts refuses the commands of a connection whose changes a guard rolled
// back by the mark rollback.sh leaves in the guard's directory.
func TestRolledBackMarkWhereHostsLooks(t *testing.T) {
	if want := BaseDir + "/*/rolledback-conn."; hosts.GuardRolledBackMarks != want {
		t.Errorf("hosts looks for %q, the guard leaves %q", hosts.GuardRolledBackMarks, want)
	}
	if !strings.Contains(rollbackSh, `: >"$D/rolledback-conn.$conn"`) {
		t.Error("rollback.sh leaves no mark where hosts looks")
	}
}
