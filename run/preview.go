package run

import (
	"context"
	"fmt"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/tasks"
)

// HostPlan is what `hako plan` found for one host.
type HostPlan struct {
	Host     *plan.Host
	Notes    []string            // how the host was reached, when that is worth saying
	Warnings []preflight.Finding // preflight's lockout checks' warnings (and overridden refusals)
	Changes  []*StepChange       // a refused task has its refusals as Err
	Err      error               // the host could not be reached or probed
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
		sv, err := o.take(ctx, h, func(n string) { hp.Notes = append(hp.Notes, n) })
		if err != nil {
			hp.Err = err
			return hp
		}
		defer sv.conn.Close()
		h = sv.host // with the tasks that read host.facts
		hp.Host, hp.Warnings = h, sv.warnings
		if o.Verbose {
			hp.Notes = append(hp.Notes, sv.conn.probed.String())
		}
		for _, s := range h.Steps {
			c, err := sv.checked[s].change, sv.checked[s].err
			if rs := sv.refused[s.Task.Address()]; len(rs) > 0 {
				c, err = nil, refusalError(rs)
			}
			hp.Changes = append(hp.Changes, &StepChange{Step: s, Change: c, Err: err})
		}
		if rest := sv.hostRefusals(h); len(rest) > 0 {
			hp.Err = fmt.Errorf("host %s: %w", h.Name, refusalError(rest))
		}
		// What apply's guard will do, as apply decides it: a change to
		// SSH's configuration is guarded on every run (plan has no
		// -confirm, so only that case is foreseen here).
		if len(sv.refused) == 0 && sv.conn.moveTo == 0 && armsGuard(h.Steps, sv.changes(), sv.env, o.Confirm > 0) {
			timeout := o.Confirm
			if timeout <= 0 {
				timeout = DefaultMoveTimeout
			}
			hp.Notes = append(hp.Notes, "apply: "+guardNote(h.Steps, sv, o.Confirm, timeout))
		}
		return hp
	}, func(h *plan.Host, err error) *HostPlan {
		return &HostPlan{Host: h, Err: err}
	})
}

func probesOf(steps []*plan.Step) []tasks.Probe {
	var ps []tasks.Probe
	for _, s := range steps {
		ps = append(ps, s.Task.Probes()...)
	}
	return ps
}
