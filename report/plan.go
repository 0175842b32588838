package report

import (
	"fmt"
	"io"

	"github.com/hako-dev/hako/run"
	"github.com/hako-dev/hako/tasks"
)

// PlanSummary counts a plan's outcome.
type PlanSummary struct {
	ToChange  int `json:"to_change"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"`
}

// PlanView shows what `hako plan` found on every host. The views show the
// same data: HumanPlan for people, JSONPlan for programs.
type PlanView interface {
	Plan(hps []*run.HostPlan) PlanSummary
}

// Summarize counts the planned changes, unchanged tasks and errors.
func Summarize(hps []*run.HostPlan) PlanSummary {
	var sum PlanSummary
	for _, hp := range hps {
		if hp.Err != nil {
			sum.Errors++
			continue
		}
		for _, sc := range hp.Changes {
			switch {
			case sc.Err != nil:
				sum.Errors++
			case sc.Change.Changed():
				sum.ToChange++
			default:
				sum.Unchanged++
			}
		}
	}
	return sum
}

// HumanPlan prints every host's planned changes and the closing summary
// line.
type HumanPlan struct {
	w  io.Writer
	st Style
}

// NewHumanPlan shows plans to people on w.
func NewHumanPlan(w io.Writer, st Style) *HumanPlan { return &HumanPlan{w: w, st: st} }

func (v *HumanPlan) Plan(hps []*run.HostPlan) PlanSummary {
	w, st := v.w, v.st
	for _, hp := range hps {
		c := hp.Host.Conn
		fmt.Fprintf(w, "%s %s\n", st.paint(bold, "host "+hp.Host.Name), fmt.Sprintf("(%s@%s:%d)", c.User, c.Address, c.Port))
		for _, n := range hp.Notes {
			fmt.Fprintf(w, "  %s\n", st.paint(bold, "note: "+n))
		}
		for _, wf := range hp.Warnings {
			fmt.Fprintf(w, "  %s %s\n", st.paint(yellow, "warning:"), wf)
		}
		if hp.Err != nil {
			fmt.Fprintf(w, "  %s %v\n\n", st.paint(red, "error:"), hp.Err)
			continue
		}
		unchanged := 0
		for _, sc := range hp.Changes {
			switch {
			case sc.Err != nil:
				fmt.Fprintf(w, "  %s %s: %s\n", st.paint(red, "error"), sc.Step.Task.Address(), indentRest(sc.Err.Error()))
			case sc.Change.Changed():
				writeChange(w, sc.Change, st)
			default:
				unchanged++
			}
		}
		if unchanged > 0 {
			fmt.Fprintf(w, "  (%d unchanged)\n", unchanged)
		}
		fmt.Fprintln(w)
	}
	sum := Summarize(hps)
	errs := ""
	switch {
	case sum.Errors == 1:
		errs = ", " + st.paint(red, "1 error")
	case sum.Errors > 1:
		errs = ", " + st.paint(red, fmt.Sprintf("%d errors", sum.Errors))
	}
	fmt.Fprintf(w, "%s %d to change, %d unchanged%s.\n", st.paint(bold, "Plan:"), sum.ToChange, sum.Unchanged, errs)
	return sum
}

func actionColor(a tasks.Action) string {
	switch a {
	case tasks.Create:
		return green
	case tasks.Delete:
		return red
	case tasks.Run:
		return cyan
	}
	return yellow
}

// writeChange prints one change: its action line, attribute changes and
// content diff (which hides sensitive content by itself).
func writeChange(w io.Writer, c *tasks.Change, st Style) {
	fmt.Fprintf(w, "  %s %s  %s\n", st.paint(actionColor(c.Action), c.Action.Symbol()), st.paint(bold, c.Address.String()), c.Summary)
	for _, a := range c.Attrs {
		fmt.Fprintf(w, "      %s: %s → %s\n", a.Name, orNone(a.Before), orNone(a.After))
	}
	if c.Content != nil {
		for _, l := range st.diffLines(c.Content.Diff()) {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
