package run

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
	"github.com/hashicorp/hcl/v2"
)

// survey is what plan and apply both do before any change: connect, answer
// every task's probes and preflight's facts in one round trip, check
// every task once, and run preflight's lockout checks. Both commands read the same
// checks and the same refusals, so the preview cannot disagree with the run.
type survey struct {
	// host is the plan's host with every task decoded: those that read
	// host.facts with the facts this host gave (plan.Host.WithFacts).
	host  *plan.Host
	conn  *session
	state *tasks.State
	env   tasks.Env
	// checked is every task's Check against state, run once.
	checked  map[*plan.Step]checked
	refused  map[tasks.Address][]preflight.Finding // by task; the zero address: the host as a whole
	warnings []preflight.Finding
}

// checked is the outcome of one task's Check.
type checked struct {
	change *tasks.Change
	err    error
}

// take connects to h and surveys it. An error means the host could not be
// reached or probed; it names the host.
func (o Options) take(ctx context.Context, h *plan.Host, note func(string)) (*survey, error) {
	conn, err := o.connect(ctx, h, note)
	if err != nil {
		return nil, err
	}
	// A plan whose tasks read host.facts asks for them first (see
	// plan/facts.go), and with them, speculatively, the probes of every
	// step it may run (see speculativeProbes); the answers are kept, not
	// asked again. When the facts only decide which of those steps run,
	// that is the survey's one round trip; else a second asks the rest.
	var known *probe.Answers
	if h.NeedsFacts() {
		if known, h, err = withFacts(ctx, conn, h); err != nil {
			conn.Close()
			return nil, err
		}
	}
	state, err := conn.gatherKnown(ctx, known, append(stepProbes(h.Steps, h.Steps), preflight.Probes(h)...))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	s := &survey{host: h, conn: conn, state: state, env: conn.env(h, state), checked: map[*plan.Step]checked{},
		refused: map[tasks.Address][]preflight.Finding{}}
	var own []preflight.Finding
	for i, st := range h.Steps {
		c, err := check(h.Name, st, state, s.env)
		if err == nil {
			err = missingFolder(st, c, state, h.Steps[:i])
		}
		s.checked[st] = checked{c, err}
		own = append(own, preflight.TaskFindings(st.Task.Address(), tasks.RefusalsOf(c, err))...)
	}
	found, warnings, err := preflightHost(h, state, own)
	if err != nil {
		conn.Close()
		return nil, err
	}
	refusals, overridden := splitRefusals(found, conn.allow, conn.guarded)
	s.warnings = append(overridden, warnings...)
	for _, f := range refusals {
		s.refused[f.Task] = append(s.refused[f.Task], f)
	}
	return s, nil
}

// withFacts asks the host for its facts, with the speculative probes,
// and decodes the tasks that read them; an error in those tasks names the
// host and the plan's file:line:column.
func withFacts(ctx context.Context, conn *session, h *plan.Host) (*probe.Answers, *plan.Host, error) {
	st, err := conn.gather(ctx, append([]tasks.Probe{probe.Facts{}}, speculativeProbes(h)...)) // counted with the others for -v
	if err != nil {
		return nil, nil, fmt.Errorf("host %s: %w", h.Name, err)
	}
	a := st.Answers
	rh, diags := h.WithFacts(a.HostFacts())
	if diags.HasErrors() {
		var errs []error
		for _, d := range diags {
			if d.Severity != hcl.DiagError {
				continue
			}
			where := ""
			if d.Subject != nil {
				where = fmt.Sprintf("on %s line %d, column %d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
			}
			errs = append(errs, fmt.Errorf("host %s: with the host's facts, %s%s: %s", h.Name, where, d.Summary, d.Detail))
		}
		return nil, nil, errors.Join(errs...)
	}
	return a, rh, nil
}

// speculativeProbes are the probes the survey of h will likely ask once
// its facts are known: those of h.Speculative() and preflight's. Exit and
// Output run the plan's own commands (a command task's unless): those of a
// task whose when the facts may make false (`unless` written for another
// kind of host) are not run before the facts say the task runs.
func speculativeProbes(h *plan.Host) []tasks.Probe {
	decided := map[*plan.Step]bool{}
	for _, s := range h.Steps {
		decided[s] = true
	}
	spec := h.Speculative()
	var out []tasks.Probe
	for _, s := range spec {
		ps := stepProbes(spec, []*plan.Step{s})
		if !decided[s] {
			ps = slices.DeleteFunc(ps, func(p tasks.Probe) bool {
				switch p.(type) {
				case probe.Exit, probe.Output:
					return true
				}
				return false
			})
		}
		out = append(out, ps...)
	}
	return append(out, preflight.Probes(h)...)
}

// changes are the first checks' changes, by step.
func (s *survey) changes() map[*plan.Step]*tasks.Change {
	out := map[*plan.Step]*tasks.Change{}
	for st, c := range s.checked {
		if c.err == nil {
			out[st] = c.change
		}
	}
	return out
}

// hostRefusals are the refusals about no task of the host.
func (s *survey) hostRefusals(h *plan.Host) []preflight.Finding {
	tasksOf := map[tasks.Address]bool{}
	for _, st := range h.Steps {
		tasksOf[st.Task.Address()] = true
	}
	var out []preflight.Finding
	for addr, fs := range s.refused {
		if !tasksOf[addr] {
			out = append(out, fs...)
		}
	}
	return out
}

// preflightHost is preflight.Run with a panic turned into the host's error.
func preflightHost(h *plan.Host, state *tasks.State, own []preflight.Finding) (refusals, warnings []preflight.Finding, err error) {
	defer recovered(&err, h.Name, "the lockout checks")
	refusals, warnings = preflight.Run(h, state, own)
	return refusals, warnings, nil
}

// missingFolder fails a task that creates a path in a folder the host
// does not have when no earlier task may create that folder (see
// tasks.FolderUser): plan must not promise a write that apply cannot do.
func missingFolder(st *plan.Step, c *tasks.Change, state *tasks.State, earlier []*plan.Step) error {
	fu, ok := st.Task.(tasks.FolderUser)
	if !ok || c == nil || c.Action != tasks.Create {
		return nil
	}
	dir := fu.NeedsFolder()
	if state.Stat(dir).Exists {
		return nil
	}
	for _, e := range earlier {
		pw, ok := e.Task.(tasks.PathWriter)
		if _, user := e.Task.(tasks.Account); !ok || user {
			// Its effects are not known (or, for a user, not all listed:
			// the home folder): apply will tell.
			return nil
		}
		if slices.Contains(pw.WrittenPaths(), dir) {
			return nil
		}
	}
	return fmt.Errorf("the folder %s does not exist on the host, and no earlier task creates it: add a directory task for it before this one", dir)
}
