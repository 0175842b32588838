package tasks

import (
	"fmt"
	"path"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Attr is one evaluated attribute with its source range.
type Attr struct {
	Value cty.Value // may carry the sensitive mark; may be unknown in `validate`
	Range hcl.Range // the expression's range, for diagnostics
}

// Attrs gives a kind's decoder typed access to its evaluated attributes and
// collects diagnostics that point at the offending expression.
type Attrs struct {
	Addr  Address
	Decl  hcl.Range       // the block header, for errors about missing things
	Body  hcl.Range       // the whole block
	Dir   string          // the plan directory, for plan-relative paths
	Items map[string]Attr // only the attributes present in the block
	// Blocks are the nested blocks by type, in source order; their
	// diagnostics are collected with the parent's.
	Blocks map[string][]*Attrs
	Diags  hcl.Diagnostics
}

// Has reports whether the attribute is set.
func (a *Attrs) Has(name string) bool { _, ok := a.Items[name]; return ok }

// Sensitive reports whether the attribute's value derives from a sensitive one.
func (a *Attrs) Sensitive(name string) bool {
	it, ok := a.Items[name]
	return ok && it.Value.ContainsMarked()
}

// value converts the attribute to ty. ok is false when it is absent, null,
// unknown (validate runs without all values) or wrong; wrong adds a diagnostic.
func (a *Attrs) value(name string, ty cty.Type) (cty.Value, bool) {
	it, ok := a.Items[name]
	if !ok {
		return cty.NilVal, false
	}
	v, _ := it.Value.UnmarkDeep()
	if v.IsNull() {
		return cty.NilVal, false
	}
	v, err := convert.Convert(v, ty)
	if err != nil {
		a.errorf(name, "Incorrect attribute value type", "%s must be %s: %v.", name, ty.FriendlyName(), err)
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// String returns a string attribute ("" when absent or unknown).
func (a *Attrs) String(name string) string {
	v, ok := a.value(name, cty.String)
	if !ok {
		return ""
	}
	return v.AsString()
}

// Bool returns a bool attribute, def when absent.
func (a *Attrs) Bool(name string, def bool) bool {
	v, ok := a.value(name, cty.Bool)
	if !ok {
		return def
	}
	return v.True()
}

// Strings returns a list-of-strings attribute.
func (a *Attrs) Strings(name string) []string {
	v, ok := a.value(name, cty.List(cty.String))
	if !ok {
		return nil
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out
}

// AbsPath returns an absolute, clean remote path attribute.
func (a *Attrs) AbsPath(name string) string {
	p := a.String(name)
	if p == "" {
		return ""
	}
	if !path.IsAbs(p) {
		a.errorf(name, "Relative path", "%s must be an absolute path on the host, got %q.", name, p)
		return ""
	}
	return path.Clean(p)
}

// Mode returns an octal permission string such as "0644" as a number;
// -1 when absent.
func (a *Attrs) Mode(name string) int {
	s := a.String(name)
	if s == "" {
		return -1
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		a.errorf(name, "Invalid mode", "%s must be an octal permission string such as \"0644\", got %q.", name, s)
		return -1
	}
	return int(m)
}

// Require reports a missing attribute that the schema cannot express as
// required (one of several).
func (a *Attrs) errorf(name, summary, format string, args ...any) {
	rng := a.Decl
	if it, ok := a.Items[name]; ok {
		rng = it.Range
	}
	a.Diags = a.Diags.Append(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// Errorf adds a diagnostic about the task as a whole, pointing at its header.
func (a *Attrs) Errorf(summary, format string, args ...any) {
	a.Diags = a.Diags.Append(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf("In %s: %s", a.Addr, fmt.Sprintf(format, args...)),
		Subject:  a.Decl.Ptr(),
	})
}

// Int returns a whole-number attribute (-1 when absent or not whole).
func (a *Attrs) Int(name string) int {
	v, ok := a.value(name, cty.Number)
	if !ok {
		return -1
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < 0 || n > 1<<31 {
		a.errorf(name, "Invalid number", "%s must be a whole number from 0, got %s.", name, bf.String())
		return -1
	}
	return int(n)
}
