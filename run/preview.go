package run

import (
	"context"
	"fmt"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// HostPlan is what `hako plan` found for one host.
type HostPlan struct {
	Host    *plan.Host
	Notes   []string // how the host was reached, when that is worth saying
	Changes []*StepChange
	Err     error // the host could not be reached or probed
}

// StepChange is one task's planned change, or why it could not be checked.
type StepChange struct {
	Step   *plan.Step
	Change *tasks.Change
	Err    error
}

// Plan checks every task on every host and changes nothing.
func Plan(ctx context.Context, p *plan.Plan, o Options) []*HostPlan {
	return eachHost(ctx, p, o, func(ctx context.Context, h *plan.Host) *HostPlan {
		hp := &HostPlan{Host: h}
		conn, err := o.connect(ctx, h, func(n string) { hp.Notes = append(hp.Notes, n) })
		if err != nil {
			hp.Err = err
			return hp
		}
		defer conn.Close()
		state, err := conn.gather(ctx, probesOf(h.Steps))
		if err != nil {
			hp.Err = fmt.Errorf("host %s: %w", h.Name, err)
			return hp
		}
		for _, s := range h.Steps {
			c, err := s.Task.Check(state)
			hp.Changes = append(hp.Changes, &StepChange{Step: s, Change: c, Err: err})
		}
		return hp
	})
}

func probesOf(steps []*plan.Step) []tasks.Probe {
	var ps []tasks.Probe
	for _, s := range steps {
		ps = append(ps, s.Task.Probes()...)
	}
	return ps
}
