package plan

import (
	"fmt"
	"os"
	"sort"
	"strings"

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
		v.Type, v.defaults = ty, defs
	}
	if a, ok := content.Attributes["description"]; ok {
		diags = diags.Extend(decodeLiteral(a, cty.String, func(val cty.Value) { v.Description = val.AsString() }))
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		diags = diags.Extend(decodeLiteral(a, cty.Bool, func(val cty.Value) { v.Sensitive = val.True() }))
	}
	if a, ok := content.Attributes["default"]; ok {
		raw, d := a.Expr.Value(nil) // literals only, as in Terraform
		diags = diags.Extend(d)
		if !d.HasErrors() {
			val, err := v.convert(raw)
			if err != nil {
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid default value for variable",
					Detail: fmt.Sprintf("This default value is not compatible with the variable's type constraint: %v.", err), Subject: a.Expr.Range().Ptr()})
			} else {
				v.Default = val
			}
		}
	}
	return v, diags
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
}

const envPrefix = "HAKO_VAR_"

// resolveVariables assigns each declared variable its value: default, then
// the environment, then -var-file and -var in command-line order.
func (c *Config) resolveVariables(in Inputs) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	decl := map[string]*Variable{}
	for _, v := range c.Variables {
		decl[v.Name] = v
	}
	vals := map[string]cty.Value{}
	set := func(name string, raw cty.Value, isText bool, rng *hcl.Range, source string) {
		// A var file's line holds the value, perhaps a secret: name the
		// place in the text instead of printing the line as a snippet.
		if rng != nil {
			source = fmt.Sprintf("%s (%s:%d,%d)", source, rng.Filename, rng.Start.Line, rng.Start.Column)
			rng = nil
		}
		v, ok := decl[name]
		if !ok {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable",
				Detail: fmt.Sprintf("%s sets %q, but the plan declares no variable of that name.%s", source, name, c.suggestVariable(name))})
			return
		}
		val, d := v.fromInput(raw, isText, rng, source)
		diags = diags.Extend(d)
		if !d.HasErrors() {
			vals[name] = val
		}
	}
	for _, kv := range in.Environ {
		name, raw, ok := strings.Cut(kv, "=")
		if name, found := strings.CutPrefix(name, envPrefix); ok && found {
			if _, declared := decl[name]; declared { // like Terraform, ignore strangers in the environment
				set(name, cty.StringVal(raw), true, nil, "The environment variable "+envPrefix+name)
			}
		}
	}
	for _, a := range in.Args {
		if a.File != "" {
			attrs, d := c.parseVarFile(a.File)
			diags = diags.Extend(d)
			for _, at := range sortedAttrs(attrs) {
				raw, d := at.Expr.Value(nil)
				diags = diags.Extend(placesOnly(d))
				if !d.HasErrors() {
					set(at.Name, raw, false, at.NameRange.Ptr(), "The variables file")
				}
			}
			continue
		}
		name, raw, ok := strings.Cut(a.Assign, "=")
		if !ok || name == "" {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
				Detail: "A -var option is not of the form name=value (it is not shown here: it may hold a secret)."})
			continue
		}
		set(name, cty.StringVal(raw), true, nil, "A -var option")
	}
	for _, v := range c.Variables {
		if _, ok := vals[v.Name]; ok {
			continue
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
				Subject: v.DeclRange.Ptr()})
		}
	}
	for name, val := range vals {
		if decl[name].Sensitive {
			vals[name] = val.Mark(Sensitive{})
		}
	}
	return vals, diags
}

// fromInput converts a value given from outside. Text from -var or the
// environment is a literal string for primitive types and an HCL
// expression otherwise (Terraform's rule). Error messages never quote the
// value: it may be a secret.
func (v *Variable) fromInput(raw cty.Value, isText bool, rng *hcl.Range, source string) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if isText && !(v.Type == cty.DynamicPseudoType || v.Type.IsPrimitiveType()) {
		expr, d := hclsyntax.ParseExpression([]byte(raw.AsString()), "<value for var."+v.Name+">", hcl.InitialPos)
		if d.HasErrors() {
			return cty.NilVal, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail: fmt.Sprintf("%s gives var.%s a value that is not a valid HCL expression for type %s.", source, v.Name, typeexpr.TypeString(v.Type)), Subject: rng})
		}
		if raw, d = expr.Value(nil); d.HasErrors() {
			return cty.NilVal, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail: fmt.Sprintf("%s gives var.%s a value that is not a literal.", source, v.Name), Subject: rng})
		}
	}
	val, err := v.convert(raw)
	if err != nil {
		return cty.NilVal, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
			Detail: fmt.Sprintf("%s gives var.%s a value of the wrong type: %v.", source, v.Name, err), Subject: rng})
	}
	return val, diags
}

func (c *Config) parseVarFile(path string) (hcl.Attributes, hcl.Diagnostics) {
	if _, err := os.Stat(path); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file",
			Detail: fmt.Sprintf("%v.", err)}}
	}
	f, diags := c.parser.ParseHCLFile(path)
	if f == nil || diags.HasErrors() {
		return nil, placesOnly(diags)
	}
	attrs, d := f.Body.JustAttributes()
	return attrs, placesOnly(diags.Extend(d))
}

// placesOnly turns diagnostics about a variables file into ones that name
// the place (file:line,column) without a source snippet: the line may hold
// a secret.
func placesOnly(diags hcl.Diagnostics) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(diags))
	for _, d := range diags {
		c := *d
		if c.Subject != nil {
			c.Detail = strings.TrimSpace(fmt.Sprintf("%s (%s:%d,%d)", c.Detail, c.Subject.Filename, c.Subject.Start.Line, c.Subject.Start.Column))
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
