package guard

import (
	_ "embed" // for the .sh files
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/rootpath"
)

// The host side is POSIX sh plus coreutils and util-linux (flock, setsid),
// which every Debian, Ubuntu and Raspberry Pi OS has.
//
// Each script hako runs is a preamble built here, which sets the values the
// script works with as shell variables (each quoted with hosts.Quote), then
// fixed shell from the .sh files in this folder: no value is pasted into
// the shell's text, so a path or a name cannot change what the script does,
// and shellcheck checks the files as they run.

// wayFuncs define, on top of rootpath.Funcs (route, rootonly):
//
// safe P: true when root may work on P by path: the way to P's folder is
// root's alone, or, when that folder is missing (mkdir -p makes it), the
// way to the nearest folder above it that exists. Then nobody else can
// point the folder elsewhere, between the check and the cp, rm or mv or
// ever: a user who could would make root save, replace or delete a file of
// that name wherever she likes. It leaves that folder in _w.
//
// unsafe: after safe failed, says where and who, for an error or the log.
var wayFuncs = rootpath.Funcs + waySh

//go:embed way.sh
var waySh string

//go:embed arm.sh
var armSh string

//go:embed rollback.sh
var rollbackSh string

//go:embed run.sh
var runSh string

// endrunSh defines endrun, with which the timer's rollback ends the
// processes of the run that armed it (see rollback.sh).
//
//go:embed endrun.sh
var endrunSh string

// assign writes the shell assignment NAME='value'.
func assign(b *strings.Builder, name, value string) {
	b.WriteString(name + "=" + hosts.Quote(value) + "\n")
}

// flag is a shell boolean as the scripts test it ([ -n "$X" ]): "1" or "".
func flag(on bool) string {
	if on {
		return "1"
	}
	return ""
}

// armScript saves the snapshot into BaseDir/id, writes the rollback script
// there and schedules it: one remote command. Any failure removes the
// directory (and cancels the schedule if it was made) and exits non-zero.
// The last line it prints is "armed systemd" or "armed process PID".
func armScript(id string, paths []string, s Snapshot, timeout time.Duration) string {
	return armPreamble(id, paths, s, timeout) + wayFuncs + armSh
}

// armPreamble sets what arm.sh works with: the positional parameters are
// the paths to save, and the variables are described at the top of arm.sh.
func armPreamble(id string, paths []string, s Snapshot, timeout time.Duration) string {
	var b strings.Builder
	b.WriteString("set --")
	for _, p := range paths {
		b.WriteString(" " + hosts.Quote(p))
	}
	b.WriteString("\n")
	ms := timeout.Milliseconds()
	assign(&b, "ID", id)
	assign(&b, "D", BaseDir+"/"+id)
	assign(&b, "BASE", BaseDir)
	assign(&b, "PRUNE_DAYS", strconv.Itoa(PruneAfterDays))
	assign(&b, "ALLOW_PENDING", flag(s.AllowPending))
	assign(&b, "UFW", flag(len(s.UFW) > 0))
	assign(&b, "UFW_FILES", strings.Join(s.UFW, " "))
	assign(&b, "TIMEOUT_MS", strconv.FormatInt(ms, 10))
	// sleep(1) takes seconds, with a fraction.
	assign(&b, "TIMEOUT_S", fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
	assign(&b, "ROLLBACK", rollbackScript(id, s.Restart, s.Reapply))
	return b.String()
}

// runScript runs the rollback script of guard id in mode "disarm" or "now",
// or removes whatever a failed Arm left ("abort"); see run.sh.
func runScript(id, mode string) string {
	switch mode {
	case "disarm", "now", "abort":
	default:
		panic("guard: unknown mode " + mode)
	}
	return runPreamble(id, mode) + runSh
}

// runPreamble sets what run.sh works with (see the top of run.sh).
func runPreamble(id, mode string) string {
	var b strings.Builder
	assign(&b, "D", BaseDir+"/"+id)
	assign(&b, "MODE", mode)
	assign(&b, "NOT_ARMED", strconv.Itoa(exitNotArmed))
	return b.String()
}

// rollbackScript is the script kept in the snapshot directory: a preamble
// with the guard's values, then rollback.sh. Modes:
//
//	timer   run by the scheduler: roll back unless already rolled back;
//	        first mark the arming run's connection refused and end its
//	        processes (it may still be at work)
//	now     by hand: as timer (but for the network services, which only
//	        the timer restarts), rolling back again if done already, then
//	        cancel the scheduled run
//	run     hako's own rollback (RollbackNow, through run.sh): as now but
//	        with no mark and nothing of the run ended (the run asked)
//	disarm  cancel the scheduled run and delete the snapshot, unless
//	        already rolled back (then print the log, exit 4)
//
// All modes take a lock on the snapshot, so a disarm and a rollback never
// overlap. Exit status: 0 done, 1 error, 2 usage, 3 not armed (the snapshot
// was deleted meanwhile), 4 already rolled back (disarm), 5 rollback done
// but some steps failed (see the log).
func rollbackScript(id string, restart, reapply []string) string {
	return rollbackPreamble(id, restart, reapply) + wayFuncs + endrunSh + rollbackSh
}

// rollbackPreamble starts the rollback script with what it is and how to
// run it by hand, and sets what rollback.sh works with (see its top).
func rollbackPreamble(id string, restart, reapply []string) string {
	d := BaseDir + "/" + id
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/sh
# hako guard %[1]s: puts back what was saved here before a change, unless
# hako confirmed the change in time. Run by hand: sudo sh %[2]s/rollback
`, id, d)
	assign(&b, "ID", id)
	assign(&b, "D", d)
	assign(&b, "RESTART", strings.Join(restart, " "))
	assign(&b, "REAPPLY", strings.Join(reapply, " "))
	return b.String()
}
