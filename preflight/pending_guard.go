package preflight

import (
	"fmt"
	"time"

	"github.com/hako-dev/hako/guard"
)

// pending-rollback: a rollback armed by an earlier run that never
// confirmed (hako was killed, the laptop slept) still waits on the host.
// When it fires it restores the files as they were before THAT run and
// would undo this one, a port move included. The fact is guard.Pending.

// staleAfter: a guard this long past its deadline has no scheduler any
// more (a reboot cancels a transient timer); it will never fire.
const staleAfter = time.Minute

func pendingRollback(e *env) []Finding {
	var out []Finding
	for _, g := range e.facts.guards {
		if g.Now.After(g.Deadline.Add(staleAfter)) {
			continue
		}
		out = append(out, Finding{Check: CheckPendingRollback, Message: fmt.Sprintf(
			"a rollback armed by an earlier run (guard %s) still waits on the host and fires in %v: it would undo this run. Let it fire, then run again; or, if that run's changes are good, cancel it on the host: sudo sh %s/%s/rollback disarm",
			g.ID, g.Deadline.Sub(g.Now).Round(time.Second), guard.BaseDir, g.ID)})
	}
	return out
}
