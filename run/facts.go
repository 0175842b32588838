package run

import (
	"context"
	"fmt"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
)

// HostFacts is what `hako facts` learned of one host.
type HostFacts struct {
	Host  *plan.Host
	Notes []string // how the host was reached, when that is worth saying
	Facts probe.HostFacts
	Err   error // the host could not be reached or probed
}

// Facts connects to every host and asks for its facts (probe.Facts) in
// one round trip; it checks no task and changes nothing.
func Facts(ctx context.Context, p *plan.Plan, o Options) []*HostFacts {
	return eachHost(ctx, p, o, func(ctx context.Context, h *plan.Host) *HostFacts {
		hf := &HostFacts{Host: h}
		conn, err := o.connect(ctx, h, func(n string) { hf.Notes = append(hf.Notes, n) })
		if err != nil {
			hf.Err = err
			return hf
		}
		defer conn.Close()
		f, err := gatherFacts(ctx, conn, h)
		hf.Facts, hf.Err = f, err
		return hf
	}, func(h *plan.Host, err error) *HostFacts {
		return &HostFacts{Host: h, Err: err}
	})
}

// gatherFacts asks the host for its facts alone.
func gatherFacts(ctx context.Context, conn *session, h *plan.Host) (probe.HostFacts, error) {
	st, err := conn.gather(ctx, []tasks.Probe{probe.Facts{}})
	if err != nil {
		return probe.HostFacts{}, fmt.Errorf("host %s: %w", h.Name, err)
	}
	return st.HostFacts(), nil
}
