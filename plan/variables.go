package plan

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Sensitive is the cty mark carried by values derived from a variable
// declared `sensitive = true`.
type Sensitive struct{}

// Variable is a declared input variable.
type Variable struct {
	Name        string
	Type        cty.Type
	typed       bool // a `type` was given, even `any`: see parsesText
	defaults    *typeexpr.Defaults
	Default     cty.Value // cty.NilVal when there is none: the variable is required
	Description string
	Sensitive   bool
	DeclRange   hcl.Range
}

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
}}

func decodeVariable(b *hcl.Block) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: b.Labels[0], Type: cty.DynamicPseudoType, DeclRange: b.DefRange}
	content, diags := b.Body.Content(variableSchema)
	if !hclsyntax.ValidIdentifier(v.Name) {
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid variable name",
			Detail:  "A name must start with a letter or underscore and contain only letters, digits, underscores and dashes.",
			Subject: b.LabelRanges[0].Ptr()})
	}
	if a, ok := content.Attributes["type"]; ok {
		ty, defs, d := typeexpr.TypeConstraintWithDefaults(a.Expr)
		diags = diags.Extend(d)
		v.Type, v.defaults, v.typed = ty, defs, true
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = diags.Extend(decodeLiteral(a, cty.String, func(val cty.Value) { v.Description = val.AsString() }))
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = diags.Extend(decodeLiteral(a, cty.Bool, func(val cty.Value) { v.Sensitive = val.True() }))
	}
	if a, ok := content.Attributes["default"]; ok {
		// The default of a sensitive variable is its secret: HCL's errors
		// quote pieces of an expression (`This object does not have an
		// attribute named "..."`) and conversion errors name map keys, so
		// for such a default only the place and the kind of error are told.
		secret := hidesDefault(content.Attributes["sensitive"])
		raw, d := a.Expr.Value(nil) // literals only, as in Terraform
		if secret {
			for _, dg := range d {
				dg.Detail = "The default of a sensitive variable must be a literal value; details are hidden."
				dg.Expression, dg.EvalContext = nil, nil
			}
		}
		diags = diags.Extend(d)
		if !d.HasErrors() {
			val, err := v.convert(raw)
			switch {
			case err != nil && secret:
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid default value for variable",
					Detail:  "This default value is not compatible with the variable's type constraint (details are hidden: the variable is sensitive).",
					Subject: a.Expr.Range().Ptr()})
			case err != nil:
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid default value for variable",
					Detail: fmt.Sprintf("This default value is not compatible with the variable's type constraint: %v.", err), Subject: a.Expr.Range().Ptr()})
			default:
				v.Default = val
			}
		}
	}
	return v, diags
}

// hidesDefault reports whether a variable's sensitive attribute makes its
// default a secret: any sensitive attribute but `sensitive = false`, as
// the snippets hide it (secretRanges), so that a broken one hides too.
func hidesDefault(sensitive *hcl.Attribute) bool {
	if sensitive == nil {
		return false
	}
	v, d := sensitive.Expr.Value(nil)
	return d.HasErrors() || !v.RawEquals(cty.False)
}

// decodeLiteral evaluates a constant attribute of the given type.
func decodeLiteral(a *hcl.Attribute, ty cty.Type, set func(cty.Value)) hcl.Diagnostics {
	raw, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	val, err := convert.Convert(raw, ty)
	if err != nil || val.IsNull() {
		return diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + a.Name,
			Detail: a.Name + " must be a " + ty.FriendlyName() + ".", Subject: a.Expr.Range().Ptr()})
	}
	set(val)
	return diags
}

// convert applies optional-attribute defaults and the type constraint.
func (v *Variable) convert(raw cty.Value) (cty.Value, error) {
	if v.defaults != nil {
		raw = v.defaults.Apply(raw)
	}
	return convert.Convert(raw, v.Type)
}

// VarArg is one -var or -var-file option, kept in command-line order since
// later ones win.
type VarArg struct {
	Assign string // "name=value" from -var
	File   string // path from -var-file
}

// Inputs are the variable values a run was given.
type Inputs struct {
	Args    []VarArg
	Environ []string // HAKO_VAR_name=value entries are read from here
	// AllowMissing leaves variables without a value unknown instead of
	// reporting them (`hako validate`).
	AllowMissing bool
	// SSHConfig completes the hosts' connection settings from the
	// user's ssh_config; nil reads none and applies only the defaults.
	SSHConfig *hosts.SSHConfig
}

const envPrefix = "HAKO_VAR_"

// resolveVariables assigns each declared variable its value. Like
// Terraform, it first picks the winning raw value per variable (see
// collectInputs) and converts only that one, so a losing value of the
// wrong type is no error.
func (c *Config) resolveVariables(in Inputs) (map[string]cty.Value, hcl.Diagnostics) {
	decl := map[string]*Variable{}
	for _, v := range c.Variables {
		decl[v.Name] = v
	}
	given, diags := c.collectInputs(in, decl)
	vals := map[string]cty.Value{}
	for _, v := range c.Variables {
		if g, ok := given[v.Name]; ok {
			val, d := v.fromInput(g)
			diags = diags.Extend(d)
			if !d.HasErrors() {
				vals[v.Name] = val
			}
			continue // a bad value is reported once, not also as missing
		}
		switch {
		case v.Default != cty.NilVal:
			vals[v.Name] = v.Default
		case in.AllowMissing:
			vals[v.Name] = cty.UnknownVal(v.Type)
		default:
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No value for required variable",
				Detail: fmt.Sprintf("The variable %q has no default. Set it with -var %s=..., in a -var-file, or in the environment as %s%s.",
					v.Name, v.Name, envPrefix, v.Name),
				Subject: v.DeclRange.Ptr(), Extra: noValue{v.Name}})
		}
	}
	for name, val := range vals {
		if decl[name].Sensitive {
			vals[name] = val.Mark(Sensitive{})
		}
	}
	return vals, diags
}

// noValue is the Extra of the diagnostic that required variable name has
// no value: MissingVariables finds those diagnostics by it.
type noValue struct{ name string }

// MissingVariables returns the names of the required variables that diags
// report as having no value, in the order reported, and whether diags hold
// any other error. A caller that needs only some variables (hako sdcard)
// can then build the plan with Inputs.AllowMissing and name just the
// missing ones it uses.
func MissingVariables(diags hcl.Diagnostics) (names []string, otherErrors bool) {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if nv, ok := hcl.DiagnosticExtra[noValue](d); ok {
			names = append(names, nv.name)
		} else {
			otherErrors = true
		}
	}
	return names, otherErrors
}

// input is one raw value given from outside, not yet converted.
type input struct {
	raw    cty.Value
	isText bool   // from -var or the environment: parsed per the type (fromInput)
	source string // where it came from, for messages; never the value
}

// collectInputs gathers raw values, later ones replacing earlier ones: the
// environment, then -var-file and -var options in command-line order.
func (c *Config) collectInputs(in Inputs, decl map[string]*Variable) (map[string]input, hcl.Diagnostics) {
	given := map[string]input{}
	for _, kv := range in.Environ {
		name, raw, ok := strings.Cut(kv, "=")
		name, found := strings.CutPrefix(name, envPrefix)
		if ok && found && decl[name] != nil { // like Terraform, ignore strangers in the environment
			given[name] = input{raw: cty.StringVal(raw), isText: true, source: "The environment variable " + envPrefix + name}
		}
	}
	var diags hcl.Diagnostics
	for _, a := range in.Args {
		if a.File != "" {
			diags = diags.Extend(c.fileInputs(a.File, decl, given))
		} else {
			diags = diags.Extend(c.assignInput(a.Assign, decl, given))
		}
	}
	return given, diags
}

// fileInputs reads a -var-file into given. A name the plan does not
// declare is only a warning, as in Terraform: one file may serve several
// plans.
func (c *Config) fileInputs(path string, decl map[string]*Variable, given map[string]input) hcl.Diagnostics {
	attrs, diags := c.parseVarFile(path)
	for _, at := range sortedAttrs(attrs) {
		raw, d := at.Expr.Value(nil)
		diags = diags.Extend(placesOnly(d))
		if d.HasErrors() {
			continue
		}
		// The line holds the value, perhaps a secret: name the place in
		// the text instead of showing the line as a snippet.
		r := at.NameRange
		source := fmt.Sprintf("The variables file (%s:%d,%d)", r.Filename, r.Start.Line, r.Start.Column)
		if decl[at.Name] == nil {
			diags = diags.Append(c.undeclared(hcl.DiagWarning, source, at.Name, " It is ignored."))
			continue
		}
		given[at.Name] = input{raw: raw, source: source}
	}
	return diags
}

// assignInput records one -var name=value. Unlike a variables file, a -var
// for an undeclared name is an error: it can only be a mistake.
func (c *Config) assignInput(assign string, decl map[string]*Variable, given map[string]input) hcl.Diagnostics {
	name, raw, ok := strings.Cut(assign, "=")
	if !ok || name == "" {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid -var option",
			Detail: "A -var option is not of the form name=value (it is not shown here: it may hold a secret)."}}
	}
	const source = "A -var option"
	if decl[name] == nil {
		return hcl.Diagnostics{c.undeclared(hcl.DiagError, source, name, "")}
	}
	given[name] = input{raw: cty.StringVal(raw), isText: true, source: source}
	return nil
}

func (c *Config) undeclared(sev hcl.DiagnosticSeverity, source, name, more string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: sev, Summary: "Undeclared variable",
		Detail: fmt.Sprintf("%s sets %q, but the plan declares no variable of that name.%s%s", source, name, more, c.suggestVariable(name))}
}

// parsesText reports whether text from -var or the environment is an HCL
// expression rather than a literal string. Terraform parses it for every
// declared type that is not primitive, `any` included; only a variable
// with no type at all takes the text as it is.
func (v *Variable) parsesText() bool {
	return v.typed && !v.Type.IsPrimitiveType()
}

// fromInput converts the winning value given from outside. Error messages
// never quote the value: it may be a secret.
func (v *Variable) fromInput(g input) (cty.Value, hcl.Diagnostics) {
	raw := g.raw
	if g.isText && v.parsesText() {
		expr, d := hclsyntax.ParseExpression([]byte(raw.AsString()), "<value for var."+v.Name+">", hcl.InitialPos)
		if d.HasErrors() {
			return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail: fmt.Sprintf("%s gives var.%s a value that is not a valid HCL expression for type %s.", g.source, v.Name, typeexpr.TypeString(v.Type))}}
		}
		if raw, d = expr.Value(nil); d.HasErrors() {
			return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail: fmt.Sprintf("%s gives var.%s a value that is not a literal.", g.source, v.Name)}}
		}
	}
	val, err := v.convert(raw)
	if err != nil {
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid value for variable",
			Detail: fmt.Sprintf("%s gives var.%s a value of the wrong type: %v.", g.source, v.Name, err)}}
	}
	return val, nil
}

func (c *Config) parseVarFile(path string) (hcl.Attributes, hcl.Diagnostics) {
	if _, err := os.Stat(path); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file",
			Detail: fmt.Sprintf("%v.", err)}}
	}
	if d := tooLarge(path); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	// Read here rather than by the parser: its "Failed to read file" names
	// the file only in the detail, which placesOnly drops.
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file",
			Detail: fmt.Sprintf("%v.", err)}}
	}
	f, diags := c.parser.ParseHCL(src, path)
	if f == nil || diags.HasErrors() {
		return nil, placesOnly(diags)
	}
	attrs, d := f.Body.JustAttributes()
	return attrs, placesOnly(diags.Extend(d))
}

// placesOnly turns diagnostics about a variables file into ones that name
// the place (file:line,column) and keep only their summary: no source
// snippet, and no detail text, which HCL words from the source characters
// (`The symbol "q" is not a valid escape sequence selector.` quotes a
// character of what may be a password).
func placesOnly(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		c := *d
		c.Detail = ""
		if c.Subject != nil {
			c.Detail = fmt.Sprintf("At %s:%d,%d; the line is not shown: it may hold a secret.", c.Subject.Filename, c.Subject.Start.Line, c.Subject.Start.Column)
		}
		c.Subject, c.Context, c.Expression, c.EvalContext = nil, nil, nil, nil
		out = append(out, &c)
	}
	return out
}

func (c *Config) suggestVariable(name string) string {
	for _, v := range c.Variables {
		if strings.EqualFold(v.Name, name) {
			return fmt.Sprintf(" Did you mean %q?", v.Name)
		}
	}
	return ""
}

// sortedAttrs returns attributes in source order (maps lose it).
func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := out[i].Range, out[j].Range
		if ri.Filename != rj.Filename {
			return ri.Filename < rj.Filename
		}
		return ri.Start.Byte < rj.Start.Byte
	})
	return out
}
