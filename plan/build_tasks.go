package plan

import (
	"fmt"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/tasks"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// taskDecl is a task block split into its common and kind attributes.
type taskDecl struct {
	block   *hcl.Block
	kind    tasks.Kind
	common  hcl.Attributes
	content *hcl.BodyContent
	hosts   map[string]bool // nil: every host
	notify  []string
	when    *hcl.Attribute // nil: always
	facts   bool           // its expressions read host.facts (see facts.go)
}

// buildTasks evaluates every task and handler for every host it runs on.
func (c *Config) buildTasks(ev *evaluator, hs []*Host) (map[string][]*Step, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	hostNames := map[string]bool{}
	for _, h := range hs {
		hostNames[h.Name] = true
	}
	handlers := map[string]bool{}
	for _, b := range c.Handlers {
		handlers[b.Labels[0]] = true
	}
	var decls []*taskDecl
	for _, b := range c.Tasks {
		td, d := decodeTaskDecl(b, ev, hostNames, handlers)
		diags = diags.Extend(d)
		if td != nil {
			decls = append(decls, td)
		}
	}
	out := map[string][]*Step{}
	decoded := map[*hcl.Block]bool{}
	unknownFacts := cty.UnknownVal(factsType)
	for _, h := range hs {
		hev := ev.forHost(hostValue(h, unknownFacts))
		var later []laterTask
		needsFacts := false
		only := map[string]*hcl.Block{} // OnePerHost kind -> its task
		for _, td := range decls {
			if td.hosts != nil && !td.hosts[h.Name] || !when(hev, td.when, &diags) {
				continue
			}
			if td.facts {
				// Checked now with the facts unknown, decoded by WithFacts;
				// the OnePerHost check waits for its when, too.
				c.decodeTask(hev, td, &diags)
				later = append(later, laterTask{decl: td})
				needsFacts = true
				decoded[td.block] = true
				continue
			}
			if td.kind.OnePerHost {
				if first, ok := only[td.kind.Name]; ok {
					diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Two " + td.kind.Name + " tasks on one host",
						Detail: fmt.Sprintf("Host %q would get this task and the one at %s; they would undo each other. Declare one, or limit each with hosts or when.",
							h.Name, first.DefRange.String()), Subject: td.block.DefRange.Ptr()})
					continue
				}
				only[td.kind.Name] = td.block
			}
			s := c.decodeTask(hev, td, &diags)
			out[h.Name] = append(out[h.Name], s)
			later = append(later, laterTask{step: s})
			decoded[td.block] = true
		}
		var handlers []laterHandler
		for _, b := range c.Handlers {
			common, rest, d := b.Body.PartialContent(handlerCommonSchema)
			diags = diags.Extend(d)
			name := b.Labels[0]
			if handlerReadsFacts(b, common, rest) {
				if when(hev, common.Attributes["when"], &diags) {
					c.decodeHandler(hev, b, &diags)
					decoded[b] = true
				}
				handlers = append(handlers, laterHandler{name: name, block: b})
				needsFacts = true
				continue
			}
			if !when(hev, common.Attributes["when"], &diags) {
				handlers = append(handlers, laterHandler{name: name})
				continue
			}
			s := c.decodeHandler(hev, b, &diags)
			h.Handlers[name] = s
			h.Order = append(h.Order, name)
			handlers = append(handlers, laterHandler{name: name, step: s})
			decoded[b] = true
		}
		if needsFacts {
			h.pending = &pending{cfg: c, ev: ev, tasks: later, handlers: handlers}
		}
	}
	// A task or handler that runs on no host is still checked once, with an
	// unknown host and unknown variables, as Terraform validates a resource
	// whose count is 0: an error must not wait for the day when = true.
	anyHost := ev.unknowns().forHost(cty.UnknownVal(hostValue(&Host{}, unknownFacts).Type()))
	for _, td := range decls {
		if !decoded[td.block] {
			c.decodeTask(anyHost, td, &diags)
		}
	}
	for _, b := range c.Handlers {
		if !decoded[b] {
			c.decodeHandler(anyHost, b, &diags)
		}
	}
	return out, diags
}

func (c *Config) decodeTask(ev *evaluator, td *taskDecl, diags *hcl.Diagnostics) *Step {
	addr := tasks.Address{Kind: td.kind.Name, Name: td.block.Labels[1]}
	return c.decodeStep(ev, td.kind, addr, td.block, td.content, td.notify, diags)
}

func (c *Config) decodeHandler(ev *evaluator, b *hcl.Block, diags *hcl.Diagnostics) *Step {
	_, rest, _ := b.Body.PartialContent(handlerCommonSchema)
	kind := handlerKind(b)
	content, d := rest.Content(kind.Schema)
	*diags = diags.Extend(d)
	return c.decodeStep(ev, kind, tasks.Address{Kind: "handler", Name: b.Labels[0]}, b, content, nil, diags)
}

// handlerReadsFacts reports whether a handler's when or attributes read
// host.facts.
func handlerReadsFacts(b *hcl.Block, common *hcl.BodyContent, rest hcl.Body) bool {
	content, _ := rest.Content(handlerKind(b).Schema)
	return readsFacts(bodyExprs(common.Attributes["when"], content, nil))
}

// handlerKind: a handler that names a `service` restarts or reloads it;
// any other handler is a command.
func handlerKind(b *hcl.Block) tasks.Kind {
	if attrs, _ := b.Body.JustAttributes(); attrs["service"] != nil {
		return tasks.ServiceActionKind
	}
	command, _ := tasks.LookupKind("command")
	return command
}

// when evaluates an optional `when` condition for one host. An error or an
// unknown value (validate) counts as true, so the task is still checked.
func when(ev *evaluator, a *hcl.Attribute, diags *hcl.Diagnostics) bool {
	if a == nil {
		return true
	}
	v, d := ev.eval(a.Expr)
	*diags = diags.Extend(d)
	if d.HasErrors() {
		return true
	}
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() {
		return true
	}
	if !v.IsNull() {
		v, _ = convert.Convert(v, cty.Bool) // "true" from -var, as Terraform converts
	}
	if v == cty.NilVal || v.IsNull() || v.Type() != cty.Bool {
		*diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid when",
			Detail: "when must be true or false.", Subject: a.Expr.Range().Ptr()})
		return true
	}
	return v.True()
}

func (c *Config) decodeStep(ev *evaluator, kind tasks.Kind, addr tasks.Address, b *hcl.Block,
	content *hcl.BodyContent, notify []string, diags *hcl.Diagnostics) *Step {
	a := evalAttrs(ev, content.Attributes, addr.Kind, addr.Name, b, diags, kind.SensitiveAttrs...)
	a.Dir = c.Dir
	for _, nb := range content.Blocks {
		nc, d := nb.Body.Content(kind.BlockSchemas[nb.Type])
		*diags = diags.Extend(d)
		na := evalAttrs(ev, nc.Attributes, addr.Kind, addr.Name, nb, diags)
		na.Dir = c.Dir
		if a.Blocks == nil {
			a.Blocks = map[string][]*attrs.Attrs{}
		}
		a.Blocks[nb.Type] = append(a.Blocks[nb.Type], na)
	}
	t := kind.Decode(a)
	*diags = diags.Extend(a.Diags)
	for _, nbs := range a.Blocks {
		for _, na := range nbs {
			*diags = diags.Extend(na.Diags)
		}
	}
	return &Step{Task: t, Kind: kind, Notify: notify, Decl: b.DefRange}
}

func decodeTaskDecl(b *hcl.Block, ev *evaluator, hostNames, handlers map[string]bool) (*taskDecl, hcl.Diagnostics) {
	kind, ok := tasks.LookupKind(b.Labels[0])
	if !ok {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown task kind",
			Detail:  fmt.Sprintf("%q is not a task kind. The kinds are: %s.", b.Labels[0], strings.Join(tasks.KindNames(), ", ")),
			Subject: b.LabelRanges[0].Ptr(), Context: b.DefRange.Ptr()}}
	}
	common, rest, diags := b.Body.PartialContent(taskCommonSchema)
	content, d := rest.Content(kind.Schema)
	diags = diags.Extend(d)
	td := &taskDecl{block: b, kind: kind, common: common.Attributes, content: content, when: common.Attributes["when"]}
	td.facts = readsFacts(bodyExprs(td.when, content, kind.BlockSchemas))
	if a, ok := common.Attributes["hosts"]; ok {
		names, set, d := nameList(ev, a, "host", hostNames)
		diags = diags.Extend(d)
		if set { // hosts = null: every host, as if unset
			td.hosts = map[string]bool{}
			for _, n := range names {
				td.hosts[n] = true
			}
		}
	}
	if a, ok := common.Attributes["notify"]; ok {
		names, _, d := nameList(ev, a, "handler", handlers)
		diags = diags.Extend(d)
		td.notify = names
	}
	return td, diags
}

// nameList evaluates a list of names that must each be declared. set is
// false when the list is null, which counts as not set (Terraform's null).
func nameList(ev *evaluator, a *hcl.Attribute, what string, declared map[string]bool) (names []string, set bool, diags hcl.Diagnostics) {
	v, diags := ev.eval(a.Expr)
	if diags.HasErrors() {
		return nil, true, diags
	}
	if v.ContainsMarked() {
		return nil, true, diags.Append(sensitiveRefused(a.Name, a.Expr.Range(), nil))
	}
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return nil, true, diags
	}
	if v.IsNull() {
		return nil, false, diags
	}
	if !(v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType()) {
		return nil, true, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + a.Name,
			Detail: a.Name + " must be a list of " + what + " names.", Subject: a.Expr.Range().Ptr()})
	}
	for _, e := range v.AsValueSlice() {
		if e.Type() != cty.String || e.IsNull() {
			return nil, true, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + a.Name,
				Detail: a.Name + " must be a list of " + what + " names.", Subject: a.Expr.Range().Ptr()})
		}
		n := e.AsString()
		if !declared[n] {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown " + what,
				Detail: fmt.Sprintf("There is no %s named %q in this plan.", what, n), Subject: a.Expr.Range().Ptr()})
			continue
		}
		names = append(names, n)
	}
	return names, true, diags
}
