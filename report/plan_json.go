package report

import (
	"encoding/json"
	"io"

	"github.com/hako-dev/hako/run"
	"github.com/hako-dev/hako/tasks"
)

// JSONPlan writes the plan as one JSON document, for programs: every
// host, every task's change (unchanged ones with action "no-op"), the
// errors and the summary. A change is written as tasks.Change marshals
// itself, which leaves out sensitive content and the content of host
// files that are not world-readable.
type JSONPlan struct{ w io.Writer }

// NewJSONPlan writes plans as JSON to w.
func NewJSONPlan(w io.Writer) *JSONPlan { return &JSONPlan{w: w} }

// planDoc is the JSON document. format_version changes when a field
// changes meaning or goes away (not when one is added).
type planDoc struct {
	FormatVersion string      `json:"format_version"`
	Hosts         []hostDoc   `json:"hosts"`
	Summary       PlanSummary `json:"summary"`
}

type hostDoc struct {
	Name     string       `json:"name"`
	User     string       `json:"user"`
	Address  string       `json:"address"`
	Port     int          `json:"port"`
	Notes    []string     `json:"notes,omitempty"`
	Warnings []warningDoc `json:"warnings,omitempty"`
	// Error: the host could not be reached, probed, or its plan was
	// refused as a whole.
	Error   string          `json:"error,omitempty"`
	Changes []*tasks.Change `json:"changes"`
	Errors  []taskError     `json:"errors,omitempty"` // tasks that could not be checked, or were refused
}

type warningDoc struct {
	Check      string         `json:"check,omitempty"`
	Task       *tasks.Address `json:"task,omitempty"` // nil: about the host as a whole
	Message    string         `json:"message"`
	Overridden bool           `json:"overridden,omitempty"` // a refusal -allow-risky turned into a warning
}

type taskError struct {
	Address tasks.Address `json:"address"`
	Error   string        `json:"error"`
}

func (v *JSONPlan) Plan(hps []*run.HostPlan) PlanSummary {
	doc := planDoc{FormatVersion: "1", Hosts: []hostDoc{}, Summary: Summarize(hps)}
	for _, hp := range hps {
		c := hp.Host.Conn
		h := hostDoc{Name: hp.Host.Name, User: c.User, Address: c.Address, Port: c.Port, Notes: hp.Notes,
			Changes: []*tasks.Change{}}
		for _, f := range hp.Warnings {
			w := warningDoc{Check: f.Check, Message: f.Message, Overridden: f.Overridden}
			if f.Task != (tasks.Address{}) {
				w.Task = &f.Task
			}
			h.Warnings = append(h.Warnings, w)
		}
		if hp.Err != nil {
			// As in the human view and the summary: a host with an error
			// has no changes to show.
			h.Error = hp.Err.Error()
			doc.Hosts = append(doc.Hosts, h)
			continue
		}
		for _, sc := range hp.Changes {
			switch {
			case sc.Err != nil:
				h.Errors = append(h.Errors, taskError{Address: sc.Step.Task.Address(), Error: sc.Err.Error()})
			case sc.Change != nil:
				h.Changes = append(h.Changes, sc.Change)
			}
		}
		doc.Hosts = append(doc.Hosts, h)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		// A bug in a kind's planned type: say so in the document and
		// count it, rather than print nothing and succeed.
		doc.Summary.Errors++
		b, _ = json.Marshal(map[string]any{"format_version": doc.FormatVersion, "error": "cannot write the plan as JSON: " + err.Error(), "summary": doc.Summary})
	}
	// A write error (a closed pipe) has nowhere to be shown; the exit
	// code still follows the summary.
	_, _ = v.w.Write(append(b, '\n'))
	return doc.Summary
}
