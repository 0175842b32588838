package lint

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hako-dev/hako/guard"
)

// pending-rollback: a rollback armed by an earlier run that never
// confirmed (hako was killed, the laptop slept) still waits on the host.
// When it fires it restores the files as they were before THAT run and
// would undo this one, a port move included. Found by a safety review.

// pendingGuardsScript prints "G ID ARMED_EPOCH TIMEOUT_MS NOW_EPOCH" for
// every guard armed and not rolled back. Disarm deletes a guard's
// directory; only root can read them.
const pendingGuardsScript = `for d in ` + guard.BaseDir + `/*/; do
  [ -f "$d/armed" ] && [ ! -e "$d/rolledback" ] || continue
  read -r at _ ms <"$d/armed" || continue
  echo "G $(basename "$d") $(date -d "$at" +%s 2>/dev/null || echo -) ${ms%ms} $(date +%s)"
done 2>/dev/null
`

type pendingGuard struct {
	id       string
	deadline time.Time // when the rollback fires
	now      time.Time // the host's clock when probed
}

func parsePendingGuard(s string) (pendingGuard, bool) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return pendingGuard{}, false
	}
	armed, err1 := strconv.ParseInt(f[1], 10, 64)
	ms, err2 := strconv.ParseInt(f[2], 10, 64)
	now, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return pendingGuard{}, false
	}
	return pendingGuard{id: f[0], deadline: time.Unix(armed, 0).Add(time.Duration(ms) * time.Millisecond),
		now: time.Unix(now, 0)}, true
}

// staleAfter: a guard this long past its deadline has no scheduler any
// more (a reboot cancels a transient timer); it will never fire.
const staleAfter = time.Minute

func pendingRollback(e *env) []Finding {
	var out []Finding
	for _, g := range e.facts.guards {
		if g.now.After(g.deadline.Add(staleAfter)) {
			continue
		}
		out = append(out, Finding{Check: CheckPendingRollback, Message: fmt.Sprintf(
			"a rollback armed by an earlier run (guard %s) still waits on the host and fires in %v: it would undo this run. Let it fire, then run again; or, if that run's changes are good, cancel it on the host: sudo sh %s/%s/rollback disarm",
			g.id, g.deadline.Sub(g.now).Round(time.Second), guard.BaseDir, g.id)})
	}
	return out
}
