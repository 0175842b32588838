package hosts

import (
	"bytes"
	"errors"
	"strconv"
)

// GuardRolledBackMarks is the glob of the marks a rollback guard leaves on
// the host when its timer rolls back, or someone by hand, one per guard,
// named after the connection of the run that armed it:
// GuardRolledBackMarks + HAKO_CONN (see SSHHost.conn and the guard
// package, whose snapshots are /var/lib/hako/guard/ID).
const GuardRolledBackMarks = "/var/lib/hako/guard/*/rolledback-conn."

// guardMarks is GuardRolledBackMarks; tests point it elsewhere.
var guardMarks = GuardRolledBackMarks

// ErrGuardRolledBack: the host refused a command, or the start of an SFTP
// server, of a connection whose changes a rollback guard on the host has
// rolled back. A run that outlived its guard's timer must not change the
// host after the restore; what it did before is undone.
var ErrGuardRolledBack = errors.New("the host's guard rolled back this run's changes (its timer ended, or someone rolled back by hand): nothing more is done on it")

// exitGuardRolledBack is the exit status of a command guardCheck refused;
// with guardRefusal on stderr it tells the refusal from a script's own 86.
const exitGuardRolledBack = 86

// guardRefusal is what a refused command prints on stderr. It holds no
// single quote (it goes inside sh -c '...'), no $, " or `.
const guardRefusal = "hako: a guard on this host rolled back the changes of this connection: nothing more is done over it"

// guardCheck is shell code, ahead of a command hako runs over connection
// conn, that refuses to go on (exit exitGuardRolledBack) once a guard
// armed over conn has rolled back. The guard's rollback leaves its mark
// before it ends the connection's processes (see rollback.sh), so a
// command that starts after that does nothing, and one already under way
// is ended. It is sh builtins only (a glob and a test): no process, no
// round trip; without a guard directory on the host the glob stays
// itself and the test fails. Only root can read the guard's directory,
// and only root can arm a guard: on a connection whose commands do not
// run as root the check finds nothing and lets the command through, and
// no guard can have been armed over it.
func guardCheck(conn string) string {
	return `for hako_g in ` + guardMarks + conn + `; do [ ! -e "$hako_g" ] || { echo "` + guardRefusal + `" >&2; exit ` +
		strconv.Itoa(exitGuardRolledBack) + `; }; done; `
}

// refusedByGuard: a command's exit status and stderr say guardCheck
// refused it.
func refusedByGuard(code int, stderr []byte) bool {
	return code == exitGuardRolledBack && bytes.Contains(stderr, []byte(guardRefusal))
}
