package preflight

import (
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// leftover-temp (a warning): a file task found temp files of an
// interrupted write next to its path in a folder another user can write,
// where root must not remove things by path; they may hold a secret.

// WarnLeftoverTemp is the check of that warning.
const WarnLeftoverTemp = "leftover-temp"

func leftoverTemps(h *plan.Host, st *tasks.State) []Finding {
	var out []Finding
	for _, s := range h.Steps {
		lt, ok := s.Task.(tasks.LeftoverWarner)
		if !ok {
			continue
		}
		if msg := lt.LeftoverWarning(st); msg != "" {
			out = append(out, Finding{Check: WarnLeftoverTemp, Task: s.Task.Address(), Message: msg})
		}
	}
	return out
}
