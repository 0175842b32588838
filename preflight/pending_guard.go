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
		// Three ways out, each for its case: `rollback now` restores what
		// that run changed at once (its changes are bad, or nobody knows
		// whether they are, as after a dead connection), `rollback disarm`
		// keeps them (they are good), or waiting does what now does later.
		r := guard.BaseDir + "/" + g.ID + "/rollback"
		out = append(out, Finding{Check: CheckPendingRollback, Message: fmt.Sprintf(
			"an earlier run's rollback fires in %v, undoing this run. If that run's changes are bad or unknown, restore: sudo sh %s now; if good, keep: sudo sh %s disarm; or wait and rerun",
			g.Deadline.Sub(g.Now).Round(time.Second), r, r)})
	}
	return out
}
