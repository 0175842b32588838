package run

import (
	"context"
	"fmt"

	"github.com/hako-dev/hako/lint"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// survey is what plan and apply both do before any change: connect, answer
// every task's probes and the linter's facts in one round trip, and run
// the lockout linter. Both commands read the same State and the same
// refusals, so the preview cannot disagree with the run.
type survey struct {
	conn     *session
	state    *tasks.State
	refused  map[tasks.Address][]lint.Finding // by task; the zero address: the host as a whole
	warnings []lint.Finding
}

// take connects to h and surveys it. An error means the host could not be
// reached or probed; it names the host.
func (o Options) take(ctx context.Context, h *plan.Host, note func(string)) (*survey, error) {
	conn, err := o.connect(ctx, h, note)
	if err != nil {
		return nil, err
	}
	state, err := conn.gather(ctx, append(probesOf(h.Steps), lint.Probes(h)...))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	refusals, warnings, err := lintHost(h, state)
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &survey{conn: conn, state: state, refused: map[tasks.Address][]lint.Finding{}, warnings: warnings}
	for _, f := range refusals {
		s.refused[f.Task] = append(s.refused[f.Task], f)
	}
	return s, nil
}

// hostRefusals are the refusals about no task of the host.
func (s *survey) hostRefusals(h *plan.Host) []lint.Finding {
	tasksOf := map[tasks.Address]bool{}
	for _, st := range h.Steps {
		tasksOf[st.Task.Address()] = true
	}
	var out []lint.Finding
	for addr, fs := range s.refused {
		if !tasksOf[addr] {
			out = append(out, fs...)
		}
	}
	return out
}

// lintHost is lint.Run with a panic turned into the host's error.
func lintHost(h *plan.Host, state *tasks.State) (refusals, warnings []lint.Finding, err error) {
	defer recovered(&err, h.Name, "the lockout checks")
	refusals, warnings = lint.Run(h, state, state.AllowRisky)
	return refusals, warnings, nil
}
