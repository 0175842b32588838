package plan

import (
	"fmt"

	"github.com/agext/levenshtein"

	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Host facts (host.facts) are known only once hako has asked the host, and
// the tasks a host runs are decided when the plan is built. So Build
// evaluates a task or handler whose expressions read host.facts with the
// facts unknown (cty.UnknownVal of their object type: `hako validate`
// still checks every name, offers "did you mean" for a misspelt one and
// points at file:line:column) and keeps it on the host unevaluated;
// WithFacts decodes it once the run has the facts. The run asks for them
// first, only for a host whose plan reads them, and with them the probes
// of the tasks it can guess (Speculative): the survey's probes are the
// decoded tasks' own, so a task whose probes the guess missed costs a
// second round trip; one whose when alone reads the facts does not, and
// a plan that reads no fact costs no extra round trip at all.

// factsType is the type of host.facts: probe.HostFacts by its cty tags.
var factsType = func() cty.Type {
	t, err := gocty.ImpliedType(probe.HostFacts{})
	if err != nil {
		panic(err)
	}
	return t
}()

// factsValue is f as host.facts.
func factsValue(f probe.HostFacts) cty.Value {
	if f.NMConnections == nil { // an empty list, not null: a plan iterates over it
		f.NMConnections = []probe.NMProfile{}
	}
	v, err := gocty.ToCtyValue(f, factsType)
	if err != nil {
		panic(err) // the type is f's own
	}
	return v
}

// readsFacts reports whether any of exprs reads host.facts: a traversal
// host.facts (or host["facts"]), or host as a whole, which holds them.
func readsFacts(exprs []hcl.Expression) bool {
	for _, e := range exprs {
		for _, tr := range e.Variables() {
			if tr.RootName() != "host" {
				continue
			}
			if len(tr) == 1 {
				return true
			}
			switch s := tr[1].(type) {
			case hcl.TraverseAttr:
				if s.Name == "facts" {
					return true
				}
			case hcl.TraverseIndex:
				if !s.Key.IsKnown() || s.Key.IsNull() || s.Key.Type() != cty.String || s.Key.AsString() == "facts" {
					return true
				}
			default:
				return true
			}
		}
	}
	return false
}

// bodyExprs are the expressions of a task's or handler's attributes and
// its nested blocks' (kind the block's kind), and when.
func bodyExprs(when *hcl.Attribute, content *hcl.BodyContent, blockSchemas map[string]*hcl.BodySchema) []hcl.Expression {
	var out []hcl.Expression
	if when != nil {
		out = append(out, when.Expr)
	}
	for _, a := range content.Attributes {
		out = append(out, a.Expr)
	}
	for _, nb := range content.Blocks {
		schema := blockSchemas[nb.Type]
		if schema == nil {
			continue
		}
		nc, _ := nb.Body.Content(schema)
		for _, a := range nc.Attributes {
			out = append(out, a.Expr)
		}
	}
	return out
}

// laterTask is a task of a host: decoded at Build (step) or, reading
// host.facts, left for WithFacts (decl).
type laterTask struct {
	step *Step
	decl *taskDecl
}

// laterHandler is a handler of a host: decoded at Build (step; nil when
// its when was false) or, reading host.facts, left for WithFacts (block).
type laterHandler struct {
	name  string
	step  *Step
	block *hcl.Block
}

// pending is what WithFacts needs to finish a host.
type pending struct {
	cfg      *Config
	ev       *evaluator
	tasks    []laterTask
	handlers []laterHandler
}

// NeedsFacts reports whether some of the host's tasks or handlers read
// host.facts: then Steps and Handlers are not complete until WithFacts.
func (h *Host) NeedsFacts() bool { return h.pending != nil }

// FactTasks is the number of the host's tasks that read host.facts and
// are not in Steps until WithFacts (some may turn out not to run).
func (h *Host) FactTasks() int {
	if h.pending == nil {
		return 0
	}
	n := 0
	for _, t := range h.pending.tasks {
		if t.decl != nil {
			n++
		}
	}
	return n
}

// WithFacts returns the host with every task and handler decoded, those
// that read host.facts with f: its when decides whether it runs. A host
// that reads no fact is returned as it is. The diagnostics point at the
// plan's file, line and column, as Build's do.
func (h *Host) WithFacts(f probe.HostFacts) (*Host, hcl.Diagnostics) {
	if h.pending == nil {
		return h, nil
	}
	p := h.pending
	hv := hostValue(h, factsValue(f))
	hev := p.ev.forHost(hv)
	var diags hcl.Diagnostics
	out := *h
	out.pending, out.Steps, out.Handlers, out.Order = nil, nil, map[string]*Step{}, nil
	only := map[string]*Step{} // OnePerHost kind -> its task
	for _, t := range p.tasks {
		s := t.step
		if t.decl != nil {
			if !when(hev, t.decl.when, &diags) {
				continue
			}
			s = p.cfg.decodeTask(hev, t.decl, &diags)
		}
		if s.Kind.OnePerHost {
			if first, ok := only[s.Kind.Name]; ok {
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Two " + s.Kind.Name + " tasks on one host",
					Detail: fmt.Sprintf("With its facts, host %q would get this task and the one at %s; they would undo each other. Limit each with hosts or when.",
						h.Name, first.Decl.String()), Subject: s.Decl.Ptr()})
				continue
			}
			only[s.Kind.Name] = s
		}
		out.Steps = append(out.Steps, s)
	}
	for _, hd := range p.handlers {
		s := hd.step
		if hd.block != nil {
			common, _, d := hd.block.Body.PartialContent(handlerCommonSchema)
			diags = diags.Extend(d)
			if !when(hev, common.Attributes["when"], &diags) {
				continue
			}
			s = p.cfg.decodeHandler(hev, hd.block, &diags)
		}
		if s == nil {
			continue
		}
		out.Handlers[hd.name] = s
		out.Order = append(out.Order, hd.name)
	}
	return &out, dedupe(diags)
}

// suggestHostNames adds "Did you mean" to the error about a name under
// host (host.facts.os.idd, host.fact) that does not exist: HCL says only
// that the object has no such attribute. It finds the name by the
// traversals of expr, whose steps are where HCL's errors point.
func suggestHostNames(expr hcl.Expression, diags hcl.Diagnostics) {
	hostType := hostValue(&Host{}, cty.UnknownVal(factsType)).Type()
	for _, tr := range expr.Variables() {
		if tr.RootName() != "host" {
			continue
		}
		ty := hostType
		for _, step := range tr[1:] {
			a, ok := step.(hcl.TraverseAttr)
			if !ok || !ty.IsObjectType() {
				break
			}
			if ty.HasAttribute(a.Name) {
				ty = ty.AttributeType(a.Name)
				continue
			}
			if s := closestName(a.Name, ty); s != "" {
				for _, d := range diags {
					if d.Subject != nil && *d.Subject == a.SrcRange && d.Summary == "Unsupported attribute" {
						d.Detail += fmt.Sprintf(" Did you mean %q?", s)
					}
				}
			}
			break
		}
	}
}

// closestName is the attribute of the object type ty nearest to name,
// at most 3 edits away ("" when none is).
func closestName(name string, ty cty.Type) string {
	best, bestDist := "", 4
	for n := range ty.AttributeTypes() {
		if d := levenshtein.Distance(name, n, nil); d < bestDist || d == bestDist && n < best {
			best, bestDist = n, d
		}
	}
	return best
}

// Speculative is every step the host may run, as far as it can be guessed
// before the facts: Steps, and each task that reads host.facts decoded as
// if its when were true, with the facts of a host that says nothing (the
// zero probe.HostFacts: empty names, no connections); a task that does not
// decode with those is left out. The run asks the probes of these steps in
// the facts' own round trip: when the facts only decide which of them run
// (a when) or agree with the guess, the survey needs no second round trip;
// WithFacts decides what runs, and a probe the guess missed is asked then.
// A host that reads no fact has Steps.
func (h *Host) Speculative() []*Step {
	if h.pending == nil {
		return h.Steps
	}
	p := h.pending
	hev := p.ev.forHost(hostValue(h, factsValue(probe.HostFacts{})))
	var out []*Step
	for _, t := range p.tasks {
		if t.decl == nil {
			out = append(out, t.step)
			continue
		}
		var diags hcl.Diagnostics
		s := p.cfg.decodeTask(hev, t.decl, &diags)
		if diags.HasErrors() {
			continue
		}
		out = append(out, s)
	}
	return out
}
