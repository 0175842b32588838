package plan

import (
	"fmt"
	"strings"

	"github.com/hako-dev/hako/templates"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// evaluator evaluates expressions in the plan's scope (var, local, and
// per host, host).
type evaluator struct {
	ctx *hcl.EvalContext
}

func newEvaluator(dir string, vars map[string]cty.Value) *evaluator {
	return &evaluator{ctx: &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(vars), "local": cty.EmptyObjectVal},
		Functions: templates.Functions(dir),
	}}
}

// forHost returns an evaluator that also knows `host`.
func (e *evaluator) forHost(host cty.Value) *evaluator {
	child := e.ctx.NewChild()
	child.Variables = map[string]cty.Value{"host": host}
	return &evaluator{ctx: child}
}

// unknowns returns an evaluator in which every variable and local is
// unknown (keeping its type and sensitivity), like Terraform's validate:
// a block that runs on no host is checked for what it says, and a file()
// or template of a value it will never use is not read.
func (e *evaluator) unknowns() *evaluator {
	child := e.ctx.NewChild()
	child.Variables = map[string]cty.Value{}
	for _, scope := range []string{"var", "local"} {
		attrs := map[string]cty.Value{}
		for name, v := range e.ctx.Variables[scope].AsValueMap() {
			attrs[name] = cty.UnknownVal(v.Type()).WithMarks(v.Marks())
		}
		child.Variables[scope] = cty.ObjectVal(attrs)
	}
	return &evaluator{ctx: child}
}

// eval evaluates expr. When it fails and uses a sensitive value, the error
// detail is replaced: function errors may quote their (secret) arguments.
func (e *evaluator) eval(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	v, diags := expr.Value(e.ctx)
	if !diags.HasErrors() {
		return v, diags
	}
	suggestHostNames(expr, diags)
	for _, tr := range expr.Variables() {
		if rv, d := tr.TraverseAbs(e.ctx); !d.HasErrors() && rv.ContainsMarked() {
			for _, dg := range diags {
				dg.Detail = "The expression uses a sensitive value; details are hidden."
				dg.Expression, dg.EvalContext = nil, nil
			}
			break
		}
	}
	return v, diags
}

// evalLocals evaluates locals in dependency order, whatever their order in
// the files.
func (e *evaluator) evalLocals(locals []*hcl.Attribute) hcl.Diagnostics {
	var diags hcl.Diagnostics
	done := map[string]cty.Value{}
	declared := map[string]bool{}
	for _, l := range locals {
		declared[l.Name] = true
	}
	pending := locals
	for len(pending) > 0 {
		var next []*hcl.Attribute
		for _, l := range pending {
			if !depsReady(l, declared, done) {
				next = append(next, l)
				continue
			}
			v, d := e.eval(l.Expr)
			diags = diags.Extend(d)
			if d.HasErrors() {
				v = cty.DynamicVal // keep going: report every broken local once
			}
			done[l.Name] = v
			e.ctx.Variables["local"] = cty.ObjectVal(done)
		}
		if len(next) == len(pending) {
			var names []string
			for _, l := range next {
				names = append(names, "local."+l.Name)
			}
			return diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cycle in locals",
				Detail:  fmt.Sprintf("These locals refer to each other: %s.", strings.Join(names, ", ")),
				Subject: next[0].Range.Ptr()})
		}
		pending = next
	}
	return diags
}

func depsReady(l *hcl.Attribute, declared map[string]bool, done map[string]cty.Value) bool {
	for _, tr := range l.Expr.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		if attr, ok := tr[1].(hcl.TraverseAttr); ok && declared[attr.Name] {
			if _, ok := done[attr.Name]; !ok {
				return false
			}
		}
	}
	return true
}
