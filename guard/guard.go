// Package guard makes changes that roll themselves back on the host unless
// they are confirmed, like Junos `commit confirmed`.
//
// Before a change that can cut hako off (sshd's configuration, the firewall,
// network files), Arm saves on the host what the change can break and
// schedules, on the host, a rollback after a timeout. If hako can still reach
// the host afterwards (over the new SSH path, on a new connection), Disarm
// confirms the change: it cancels the rollback and deletes the snapshot. If
// it cannot, the host restores the snapshot by itself when the time is up,
// with nobody connected. RollbackNow restores at once through a session that
// is still open.
//
// Everything lives on the host in a root-only directory,
// /var/lib/hako/guard/ID/: the saved copies, a rollback script, its log and
// the scheduler's state. An Armed holds no more than the ID, so Disarm and
// RollbackNow work over any connection to the host, a new one included.
//
// The rollback is scheduled with a transient systemd timer when systemd is
// PID 1 (unit hako-guard-ID.timer), else with a detached process that
// sleeps and then runs the script; either way it needs no SSH session. A
// reboot before the deadline loses the schedule (both live in memory); the
// snapshot stays, and `sudo sh /var/lib/hako/guard/ID/rollback` restores it
// by hand.
package guard

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hako-dev/hako/hosts"
)

// BaseDir is where snapshots are kept on the host, one directory per ID.
const BaseDir = "/var/lib/hako/guard"

// MinTimeout is the shortest timeout Arm accepts.
const MinTimeout = time.Second

// Snapshot says what to save before a change.
type Snapshot struct {
	// Paths are absolute paths on the host. Each is saved with `cp -a`
	// (content, mode, owner, timestamps; a symlink as the link itself; a
	// directory as its whole tree). A path that does not exist is recorded
	// as absent, and rollback removes whatever is there by then.
	Paths []string
	// UFW, when set, saves the firewall: these files (the ufw task's
	// FirewallFiles: /etc/default/ufw, /etc/ufw/ufw.conf, the rules
	// files), recorded absent when missing, any other /etc/ufw/*.rules or
	// *.rules6, and whether ufw is active (as `ufw status` decides it: its
	// chains are loaded). Rollback restores the files, then enables and
	// reloads ufw, or disables it. When ufw is not installed at Arm, no file
	// is saved and rollback only disables ufw if it is there by then.
	UFW []string
	// Restart are services restarted after restoring, in order, e.g.
	// "ssh": `systemctl restart` with systemd, else `service NAME restart`.
	Restart []string
	// Reapply are network services (dhcpcd, networking, ...) that re-read
	// the restored files, restarted if running, only when the timer rolls
	// back: the host is cut off then. Through hako's own session
	// (RollbackNow) the network works as it is, and a restart could cut it.
	Reapply []string
	// AllowPending arms even while a guard armed by another run still
	// waits on the host (-allow-risky pending-rollback). Without it Arm
	// refuses then, checking under a lock on the host that two runs
	// cannot pass at once.
	AllowPending bool
}

// PruneAfterDays: Arm removes snapshot directories that are this many days
// old and will never fire (rolled back, or past their deadline: a reboot
// dropped their timer). Until then `sudo sh BaseDir/ID/rollback` can still
// restore one by hand.
const PruneAfterDays = 30

// Errors a guard can end in; test with errors.Is.
var (
	// ErrRolledBack: the host has already rolled back (its timer fired, or
	// RollbackNow ran), so it is too late to confirm the change.
	ErrRolledBack = errors.New("too late: the host has already rolled back")
	// ErrNotArmed: the host has no such guard (never armed there, or
	// already disarmed).
	ErrNotArmed = errors.New("no such guard armed on the host")
	// ErrNoAnswer: the command of a Disarm or RollbackNow got no answer
	// (the connection failed, or the context ended first): whether it
	// took effect on the host is unknown.
	ErrNoAnswer = errors.New("no answer from the host")
)

// noAnswerError is a failed Run of a guard command: it reads as that
// error and matches ErrNoAnswer too.
type noAnswerError struct{ err error }

func (e noAnswerError) Error() string   { return e.err.Error() }
func (e noAnswerError) Unwrap() []error { return []error{e.err, ErrNoAnswer} }

// RolledBackError is what Disarm returns when the rollback has run. It
// matches ErrRolledBack.
type RolledBackError struct {
	Host string
	ID   string
	// Log is the rollback's log from the host: what it restored, removed
	// and restarted, one timestamped line each.
	Log string
	// Incomplete: some steps of the rollback failed (lines with FAILED in
	// Log); the others were done.
	Incomplete bool
}

func (e *RolledBackError) Error() string {
	if e.Incomplete {
		return fmt.Sprintf("host %q: guard %s: %v (and some of its steps failed)", e.Host, e.ID, ErrRolledBack)
	}
	return fmt.Sprintf("host %q: guard %s: %v", e.Host, e.ID, ErrRolledBack)
}

// Is makes errors.Is(err, ErrRolledBack) true.
func (e *RolledBackError) Is(target error) bool { return target == ErrRolledBack }

// RollbackError says that a rollback ran but some of its steps failed; the
// others were done. Log has the details.
type RollbackError struct {
	Host string
	ID   string
	Log  string
}

func (e *RollbackError) Error() string {
	var failed []string
	for _, l := range strings.Split(e.Log, "\n") {
		if strings.Contains(l, "FAILED") {
			failed = append(failed, l)
		}
	}
	return fmt.Sprintf("host %q: guard %s: rollback incomplete: %s", e.Host, e.ID, strings.Join(failed, "; "))
}

// Armed is a guard armed on a host. It holds nothing the host does not
// know, so Disarm and RollbackNow work over any connection to that host.
type Armed struct {
	id        string
	scheduler string
	pid       int
	deadline  time.Time
}

// ID identifies the guard on its host; its snapshot is in BaseDir/ID and
// its systemd units are hako-guard-ID.timer and .service.
func (a *Armed) ID() string { return a.id }

// Dir is the snapshot directory on the host.
func (a *Armed) Dir() string { return BaseDir + "/" + a.id }

// Scheduler says what runs the rollback: "systemd" (a transient timer) or
// "process" (a detached sleeping process, PID in Dir()/pid).
func (a *Armed) Scheduler() string { return a.scheduler }

// PID is the scheduler process's ID on the host when Scheduler is
// "process", else 0.
func (a *Armed) PID() int { return a.pid }

// Deadline is when Arm was called plus the timeout: the rollback does not
// start before it, so Disarm must have reached the host by then. With
// systemd the timer may fire up to a second late (AccuracySec=1s).
func (a *Armed) Deadline() time.Time { return a.deadline }

var idPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$`)

func checkID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("invalid guard id %q", id)
	}
	return nil
}

// newID is the client's UTC time (so that the host's directory lists
// snapshots in order) and 64 random bits.
func newID(now time.Time) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:]), nil
}

var serviceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9@._:-]*$`)

// check validates s and returns its paths cleaned of duplicates.
func (s Snapshot) check() ([]string, error) {
	var paths []string
	seen := map[string]bool{}
	for _, p := range s.Paths {
		switch {
		case p == "" || !path.IsAbs(p):
			return nil, fmt.Errorf("path %q is not absolute", p)
		case path.Clean(p) != p:
			return nil, fmt.Errorf("path %q is not clean (want %q)", p, path.Clean(p))
		case p == "/":
			return nil, errors.New("path / cannot be guarded")
		case strings.ContainsAny(p, "\x00\n"):
			return nil, fmt.Errorf("path %q contains a NUL or newline", p)
		case p == BaseDir || strings.HasPrefix(p, BaseDir+"/") || strings.HasPrefix(BaseDir, p+"/"):
			return nil, fmt.Errorf("path %q overlaps the guard's own directory %s", p, BaseDir)
		}
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	for _, f := range s.UFW {
		// arm.sh splits the list at spaces.
		if !path.IsAbs(f) || path.Clean(f) != f || strings.ContainsAny(f, " \t\n\x00") {
			return nil, fmt.Errorf("ufw file %q is not an absolute, clean path without spaces", f)
		}
	}
	for _, svc := range append(append([]string(nil), s.Restart...), s.Reapply...) {
		if !serviceName.MatchString(svc) {
			return nil, fmt.Errorf("invalid service name %q", svc)
		}
	}
	if len(paths) == 0 && len(s.UFW) == 0 {
		return nil, errors.New("nothing to save: no paths and no ufw")
	}
	return paths, nil
}

// Arm saves s on the host and schedules its rollback after timeout, in one
// command. If anything fails, nothing stays scheduled and the snapshot
// directory is removed. h must run commands as root (become).
func Arm(ctx context.Context, h hosts.Host, s Snapshot, timeout time.Duration) (*Armed, error) {
	paths, err := s.check()
	if err != nil {
		return nil, fmt.Errorf("host %q: guard: %w", h.Name(), err)
	}
	if timeout < MinTimeout {
		return nil, fmt.Errorf("host %q: guard: timeout %v is shorter than %v", h.Name(), timeout, MinTimeout)
	}
	start := time.Now()
	id, err := newID(start)
	if err != nil {
		return nil, fmt.Errorf("host %q: guard: %w", h.Name(), err)
	}
	res, err := h.Run(ctx, armScript(id, paths, s, timeout))
	if err != nil {
		// The command may or may not have armed the guard: take back
		// whatever it did.
		return nil, abort(ctx, h, id, start.Add(timeout), fmt.Errorf("arming: %w", err))
	}
	if res.ExitCode != 0 {
		// The script's own refusals (die) exit 1 with one line on stderr.
		if msg, ok := strings.CutPrefix(tail(res.Stderr), "hako guard: "); ok && res.ExitCode == 1 && !strings.Contains(msg, "\n") {
			return nil, fmt.Errorf("host %q: guard: nothing is armed: %s", h.Name(), msg)
		}
		return nil, fmt.Errorf("host %q: guard: arming failed (exit status %d), nothing is armed: %s", h.Name(), res.ExitCode, tail(res.Stderr, res.Stdout))
	}
	a := &Armed{id: id, deadline: start.Add(timeout)}
	// The last line is "armed SCHEDULER [PID]".
	f := strings.Fields(lastLine(res.Stdout))
	if len(f) < 2 || f[0] != "armed" {
		return nil, abort(ctx, h, id, a.deadline, fmt.Errorf("unexpected output of the arming command: %q", tail(res.Stdout)))
	}
	a.scheduler = f[1]
	if len(f) > 2 {
		a.pid, _ = strconv.Atoi(f[2])
	}
	return a, nil
}

// abort removes what a failed Arm may have left on the host. Should that fail
// too, the guard may be armed; its rollback would only restore the state
// saved before any change was made, which is harmless, and the error says so.
func abort(ctx context.Context, h hosts.Host, id string, deadline time.Time, cause error) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if r, err := h.Run(hosts.GuardCommand(cctx), runScript(id, "abort")); err != nil || r.ExitCode != 0 {
		return fmt.Errorf("host %q: guard: %w; it may be armed: at about %s it restores what it saved before any change "+
			"(`sudo sh %s/rollback disarm` cancels it)", h.Name(), cause, deadline.Format(time.TimeOnly), BaseDir+"/"+id)
	}
	return fmt.Errorf("host %q: guard: %w; nothing is armed", h.Name(), cause)
}

// Exit statuses of the rollback script (see rollbackScript and rollback.sh).
const (
	exitOK         = 0
	exitNotArmed   = 3
	exitRolledBack = 4
	exitPartial    = 5
)

// Disarm confirms the change: it cancels the scheduled rollback (stops the
// timer or kills exactly the sleeping process) and deletes the snapshot, in
// one command. It works over any connection to the host. If the rollback has
// already run it returns a *RolledBackError (errors.Is ErrRolledBack) and
// leaves the snapshot and its log in place; if no such guard is armed,
// ErrNotArmed. A rollback that has started holds a lock, so Disarm waits for
// it to finish and then says it was too late.
func (a *Armed) Disarm(ctx context.Context, h hosts.Host) error {
	if err := checkID(a.id); err != nil {
		return fmt.Errorf("host %q: guard: %w", h.Name(), err)
	}
	res, err := h.Run(hosts.GuardCommand(ctx), runScript(a.id, "disarm"))
	if err != nil {
		return fmt.Errorf("host %q: guard %s: disarm: %w", h.Name(), a.id, noAnswerError{err})
	}
	switch res.ExitCode {
	case exitOK:
		// Exit 0 alone does not prove it: sshd may have run something
		// else in place of the command (a ForceCommand, a login shell
		// that runs none), and then the rollback is still armed.
		if !bytes.Contains(res.Stdout, []byte("hako guard: disarmed "+a.id+"\n")) {
			return fmt.Errorf("host %q: guard %s: disarm exited 0 but did not run (did sshd run another command in its place, a ForceCommand or the login shell?): %s",
				h.Name(), a.id, tail(res.Stderr, res.Stdout))
		}
		return nil
	case exitNotArmed:
		return fmt.Errorf("host %q: guard %s: %w", h.Name(), a.id, ErrNotArmed)
	case exitRolledBack:
		log := string(res.Stdout)
		return &RolledBackError{Host: h.Name(), ID: a.id, Log: log, Incomplete: !strings.Contains(log, "rollback done: ok")}
	}
	return fmt.Errorf("host %q: guard %s: disarm failed (exit status %d): %s", h.Name(), a.id, res.ExitCode, tail(res.Stderr, res.Stdout))
}

// RollbackNow restores the snapshot at once and cancels the scheduled
// rollback, in one command, and returns when it is done. The rollback runs
// in its own session on the host, so it completes even if this connection
// drops (restarting sshd keeps open sessions, with systemd and with
// Debian's init script). It runs even if the timer has rolled back already,
// so afterwards the host is as saved. Steps that fail do not stop the others;
// then the error is a *RollbackError with the log. The snapshot stays; a
// later Disarm returns ErrRolledBack.
func (a *Armed) RollbackNow(ctx context.Context, h hosts.Host) error {
	if err := checkID(a.id); err != nil {
		return fmt.Errorf("host %q: guard: %w", h.Name(), err)
	}
	res, err := h.Run(hosts.GuardCommand(ctx), runScript(a.id, "now"))
	if err != nil {
		return fmt.Errorf("host %q: guard %s: rollback: %w", h.Name(), a.id, noAnswerError{err})
	}
	switch res.ExitCode {
	case exitOK:
		return nil
	case exitNotArmed:
		return fmt.Errorf("host %q: guard %s: %w", h.Name(), a.id, ErrNotArmed)
	case exitPartial:
		return &RollbackError{Host: h.Name(), ID: a.id, Log: string(res.Stdout)}
	}
	return fmt.Errorf("host %q: guard %s: rollback failed (exit status %d): %s", h.Name(), a.id, res.ExitCode, tail(res.Stderr, res.Stdout))
}

func lastLine(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// tail is the end of the first non-empty output, for error messages.
func tail(outs ...[]byte) string {
	for _, o := range outs {
		s := strings.TrimSpace(string(o))
		if s == "" {
			continue
		}
		if len(s) > 600 {
			s = "…" + s[len(s)-600:]
		}
		return s
	}
	return "(no output)"
}
