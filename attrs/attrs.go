// Package attrs gives decoders typed access to a plan block's evaluated
// attributes (a task's, a host's) and collects diagnostics that point at
// the offending expression. It knows nothing of task kinds or hosts, so
// both the task kinds and the plan's host decoder use it.
package attrs

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Attr is one evaluated attribute with its source range.
type Attr struct {
	Value cty.Value // may carry the sensitive mark; may be unknown in `validate`
	Range hcl.Range // the expression's range, for diagnostics
}

// Attrs gives a block's decoder typed access to its evaluated attributes
// and collects diagnostics that point at the offending expression.
type Attrs struct {
	// Kind and Name name the block as a task's address does ("file" and
	// "motd" for task "file" "motd", "host" and "web" for host "web"); a
	// task takes its address from them, and Errorf names the block so.
	Kind, Name string

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

// Value converts the attribute to ty. ok is false when it is absent, null,
// unknown (validate runs without all values) or wrong; wrong adds a diagnostic.
func (a *Attrs) Value(name string, ty cty.Type) (cty.Value, bool) {
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
		a.AttrErrorf(name, "Incorrect attribute value type", "%s must be %s: %v.", name, ty.FriendlyName(), err)
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

// String returns a string attribute ("" when absent or unknown).
func (a *Attrs) String(name string) string {
	v, ok := a.Value(name, cty.String)
	if !ok {
		return ""
	}
	return v.AsString()
}

// Bool returns a bool attribute, def when absent.
func (a *Attrs) Bool(name string, def bool) bool {
	v, ok := a.Value(name, cty.Bool)
	if !ok {
		return def
	}
	return v.True()
}

// Strings returns a list-of-strings attribute.
func (a *Attrs) Strings(name string) []string {
	v, ok := a.Value(name, cty.List(cty.String))
	if !ok {
		return nil
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out
}

// AbsPath returns an absolute, clean remote path attribute. A control
// character (a newline, a tab, an escape) is refused: a path is shown in
// plans and passed to shell scripts on the host, where a newline would
// split a line of the probe's answer or of a script.
func (a *Attrs) AbsPath(name string) string {
	p := a.String(name)
	if p == "" {
		return ""
	}
	if HasControl(p) {
		a.AttrErrorf(name, "Invalid path", "%s must not contain control characters such as a newline or a tab, got %s.", name, a.quoted(name, p))
		return ""
	}
	if !path.IsAbs(p) {
		a.AttrErrorf(name, "Relative path", "%s must be an absolute path on the host, got %s.", name, a.quoted(name, p))
		return ""
	}
	return path.Clean(p)
}

// HasControl reports whether s holds a control character (C0, DEL or C1)
// or an invisible one that changes how text around it reads: format
// characters (Cf: U+202E right-to-left override, U+200B zero width space)
// and the line and paragraph separators (Zl, Zp). Any of them in a path
// makes what a terminal or log shows differ from the path root acts on.
func HasControl(s string) bool {
	return strings.IndexFunc(s, isControl) >= 0
}

func isControl(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// quoted is s, the value of attribute name, quoted for a message; a value
// derived from a sensitive one is not shown at all.
func (a *Attrs) quoted(name, s string) string { return a.shown(name, strconv.Quote(s)) }

// shown is s, text of attribute name's value, or a placeholder when the
// value derives from a sensitive one.
func (a *Attrs) shown(name, s string) string {
	if a.Sensitive(name) {
		return "a sensitive value (not shown)"
	}
	return s
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
		a.AttrErrorf(name, "Invalid mode", "%s must be an octal permission string such as \"0644\", got %s.", name, a.quoted(name, s))
		return -1
	}
	return int(m)
}

// AttrErrorf adds a diagnostic about attribute name, pointing at its
// expression (at the block's header when the attribute is absent). Decoders
// format values into their messages themselves, so a message about a
// sensitive attribute that holds a line of its value is replaced by one
// that names only the attribute: the secret never reaches the output.
func (a *Attrs) AttrErrorf(name, summary, format string, args ...any) {
	rng := a.Decl
	if it, ok := a.Items[name]; ok {
		rng = it.Range
	}
	detail := fmt.Sprintf(format, args...)
	if a.Sensitive(name) && showsValue(detail, a.Items[name].Value) {
		detail = fmt.Sprintf("The value of %s is not valid here (details are hidden: it is sensitive).", name)
	}
	a.Diags = a.Diags.Append(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  rng.Ptr(),
	})
}

// showsValue reports whether msg contains a non-blank line of a string in
// v, as it is or quoted.
func showsValue(msg string, v cty.Value) bool {
	found := false
	v, _ = v.UnmarkDeep()
	_ = cty.Walk(v, func(_ cty.Path, e cty.Value) (bool, error) {
		if found || e.IsNull() || !e.IsKnown() || e.Type() != cty.String {
			return !found, nil
		}
		for _, line := range strings.Split(e.AsString(), "\n") {
			q := strconv.Quote(line)
			if line = strings.TrimSpace(line); line != "" &&
				(strings.Contains(msg, line) || strings.Contains(msg, q[1:len(q)-1])) {
				found = true
			}
		}
		return !found, nil
	})
	return found
}

// Errorf adds a diagnostic about the block as a whole, pointing at its header.
func (a *Attrs) Errorf(summary, format string, args ...any) {
	a.Diags = a.Diags.Append(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf("In %s.%s: %s", a.Kind, a.Name, fmt.Sprintf(format, args...)),
		Subject:  a.Decl.Ptr(),
	})
}

// Int returns a whole-number attribute (-1 when absent or not whole).
func (a *Attrs) Int(name string) int {
	v, ok := a.Value(name, cty.Number)
	if !ok {
		return -1
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || n < 0 || n > 1<<31 {
		a.AttrErrorf(name, "Invalid number", "%s must be a whole number from 0, got %s.", name, a.shown(name, bf.String()))
		return -1
	}
	return int(n)
}
