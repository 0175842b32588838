package plan

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

const varsPlan = `
variable "n" {
  type = number
}
variable "anyv" {
  type = any
}
variable "untyped" {}
variable "ports" {
  type = list(number)
}
variable "s" {
  type = string
}
variable "pw" {
  type      = string
  sensitive = true
}
host "h" {
  address = "127.0.0.1"
  user    = "u"
}
`

// secret stands for a value that must never reach a message.
const secret = "HUNTER2-secret"

func loadVarsPlan(t *testing.T) *Config {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "p.hcl"), varsPlan)
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	return cfg
}

// varArgs turns "-var name=value" and "-var-file <content>" specs into
// VarArgs, writing each file's content to a temporary file.
func varArgs(t *testing.T, specs ...string) []VarArg {
	t.Helper()
	var out []VarArg
	for i, s := range specs {
		if text, ok := strings.CutPrefix(s, "-var-file "); ok {
			f := filepath.Join(t.TempDir(), "vars"+itoa(i)+".hcl")
			writeFile(t, f, text+"\n")
			out = append(out, VarArg{File: f})
			continue
		}
		assign, ok := strings.CutPrefix(s, "-var ")
		if !ok {
			t.Fatalf("bad spec %q", s)
		}
		out = append(out, VarArg{Assign: assign})
	}
	return out
}

// resolve runs resolveVariables with AllowMissing, so a case need only set
// the variables it is about.
func resolve(t *testing.T, env []string, specs ...string) (*Config, map[string]cty.Value, hcl.Diagnostics) {
	t.Helper()
	cfg := loadVarsPlan(t)
	vals, diags := cfg.resolveVariables(Inputs{Args: varArgs(t, specs...), Environ: env, AllowMissing: true})
	return cfg, vals, diags
}

// Only the winning raw value is converted: a losing one of the wrong type
// is no error.
func TestInputPrecedence(t *testing.T) {
	cases := []struct {
		name    string
		env     []string
		specs   []string
		want    cty.Value // cty.NilVal: an error naming wantErr
		wantErr string
	}{
		{"env loses to -var", []string{"HAKO_VAR_n=abc"}, []string{"-var n=3"}, cty.NumberIntVal(3), ""},
		{"env loses to file", []string{"HAKO_VAR_n=abc"}, []string{"-var-file n = 4"}, cty.NumberIntVal(4), ""},
		{"file loses to later -var", nil, []string{`-var-file n = "abc"`, "-var n=3"}, cty.NumberIntVal(3), ""},
		{"earlier -var loses", nil, []string{"-var n=abc", "-var n=3"}, cty.NumberIntVal(3), ""},
		{"-var loses to later file", nil, []string{"-var n=abc", "-var-file n = 5"}, cty.NumberIntVal(5), ""},
		{"later file wins", nil, []string{`-var-file n = "abc"`, "-var-file n = 6"}, cty.NumberIntVal(6), ""},
		{"env alone", []string{"HAKO_VAR_n=7"}, nil, cty.NumberIntVal(7), ""},
		{"bad env wins", []string{"HAKO_VAR_n=abc"}, nil, cty.NilVal, "The environment variable HAKO_VAR_n gives var.n"},
		{"bad -var wins", []string{"HAKO_VAR_n=3"}, []string{"-var-file n = 4", "-var n=abc"}, cty.NilVal, "A -var option gives var.n"},
		{"bad file wins", nil, []string{"-var n=3", `-var-file n = "abc"`}, cty.NilVal, "The variables file ("},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, vals, diags := resolve(t, c.env, c.specs...)
			if c.want == cty.NilVal {
				if !diags.HasErrors() || len(diags) != 1 || !strings.Contains(render(diags), c.wantErr) {
					t.Errorf("want one error naming %q, got:\n%s", c.wantErr, render(diags))
				}
				return
			}
			if len(diags) > 0 {
				t.Fatalf("unexpected diagnostics:\n%s", render(diags))
			}
			if !vals["n"].RawEquals(c.want) {
				t.Errorf("var.n = %#v, want %#v", vals["n"], c.want)
			}
		})
	}
}

// A bad value that wins is reported once, not also as a missing value.
func TestBadWinnerNotAlsoMissing(t *testing.T) {
	cfg := loadVarsPlan(t)
	_, diags := cfg.resolveVariables(Inputs{Args: varArgs(t, "-var n=abc")})
	if got := render(diags); strings.Contains(got, `"n" has no default`) {
		t.Errorf("var.n reported twice:\n%s", got)
	}
}

func TestSensitiveMarkAfterPrecedence(t *testing.T) {
	_, vals, diags := resolve(t, []string{"HAKO_VAR_pw=from-env"}, "-var pw="+secret)
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	pw := vals["pw"]
	if !pw.HasMark(Sensitive{}) {
		t.Fatal("var.pw is not marked sensitive")
	}
	if v, _ := pw.Unmark(); v.AsString() != secret {
		t.Errorf("var.pw = %q", v.AsString())
	}
	if vals["s"].IsMarked() {
		t.Error("var.s is not sensitive")
	}
}

// Terraform warns about undeclared names in a variables file (one file may
// serve several plans), errors for -var, and ignores the environment.
func TestUndeclaredInputs(t *testing.T) {
	cases := []struct {
		name string
		env  []string
		spec string
		want hcl.DiagnosticSeverity // 0: no diagnostic
	}{
		{"var file", nil, `-var-file tokn = "` + secret + `"`, hcl.DiagWarning},
		{"-var", nil, "-var tokn=" + secret, hcl.DiagError},
		{"environment", []string{"HAKO_VAR_tokn=" + secret}, "-var n=1", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, vals, diags := resolve(t, c.env, c.spec)
			if c.want == 0 {
				if len(diags) != 0 {
					t.Errorf("want nothing, got:\n%s", render(diags))
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != c.want || diags[0].Summary != "Undeclared variable" ||
				!strings.Contains(diags[0].Detail, `"tokn"`) {
				t.Fatalf("want one Undeclared variable of severity %v, got:\n%s", c.want, render(diags))
			}
			if _, ok := vals["tokn"]; ok {
				t.Error("an undeclared value was kept")
			}
		})
	}
}

// The warning names the place without a snippet, and leaves the plan
// buildable: cmd/hako prints diagnostics and fails only on errors.
func TestVarFileUndeclaredWarnsOnly(t *testing.T) {
	cfg, diags := Load("testdata/good")
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	in := baseInputs
	in.Args = append(append([]VarArg{}, in.Args...), varArgs(t, "-var-file greeting = \"hi\"\nother_plans_var = \""+secret+"\"")...)
	p, diags := Build(cfg, in)
	if p == nil || diags.HasErrors() || len(diags) != 1 || diags[0].Severity != hcl.DiagWarning {
		t.Fatalf("want a plan and one warning, got %v:\n%s", p != nil, render(diags))
	}
	if diags[0].Subject != nil || !strings.Contains(diags[0].Detail, in.Args[2].File+":2,1") {
		t.Errorf("want file:line,column and no snippet: %s (subject %v)", diags[0].Detail, diags[0].Subject)
	}
	var b strings.Builder
	_ = WriteDiagnostics(&b, cfg.Files(), diags, 0, false)
	if out := b.String(); !strings.Contains(out, "Warning: Undeclared variable") || strings.Contains(out, secret) {
		t.Errorf("rendered warning:\n%s", out)
	}
}

// Text from -var and the environment is an HCL expression for every
// declared non-primitive type, `any` included; with no type it is a string.
func TestTextParsingByType(t *testing.T) {
	list := cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)})
	cases := []struct {
		name string
		env  []string
		spec string
		v    string
		want cty.Value
	}{
		{"any parses", nil, "-var anyv=[1,2]", "anyv", list},
		{"any parses env", []string{"HAKO_VAR_anyv=[1,2]"}, "-var n=1", "anyv", list},
		{"any parses a quoted string", nil, `-var anyv="x"`, "anyv", cty.StringVal("x")},
		{"no type is literal", nil, "-var untyped=[1,2]", "untyped", cty.StringVal("[1,2]")},
		{"no type is literal env", []string{"HAKO_VAR_untyped=[1,2]"}, "-var n=1", "untyped", cty.StringVal("[1,2]")},
		{"no type from a file keeps its type", nil, "-var-file untyped = [1, 2]", "untyped", list},
		{"string is literal", nil, "-var s=[1,2]", "s", cty.StringVal("[1,2]")},
		{"list parses", nil, "-var ports=[80, 443]", "ports", cty.ListVal([]cty.Value{cty.NumberIntVal(80), cty.NumberIntVal(443)})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, vals, diags := resolve(t, c.env, c.spec)
			if len(diags) > 0 {
				t.Fatal(render(diags))
			}
			if !vals[c.v].RawEquals(c.want) {
				t.Errorf("var.%s = %#v, want %#v", c.v, vals[c.v], c.want)
			}
		})
	}
	// Like Terraform, a bare word is no HCL literal, so `any` refuses it.
	if _, _, diags := resolve(t, nil, "-var anyv=abc"); !strings.Contains(render(diags), "not a literal") {
		t.Errorf("want an error, got:\n%s", render(diags))
	}
}

// No message quotes a value given from outside: it may be a secret.
func TestInputMessagesQuoteNoValue(t *testing.T) {
	cases := []struct {
		name  string
		env   []string
		specs []string
	}{
		{"-var wrong type", nil, []string{"-var n=" + secret}},
		{"env wrong type", []string{"HAKO_VAR_n=" + secret}, nil},
		{"-var not a literal", nil, []string{"-var anyv=" + secret}},
		{"-var bad syntax", nil, []string{"-var anyv=[" + secret}},
		{"-var wrong element", nil, []string{`-var ports=["` + secret + `"]`}},
		{"-var without =", nil, []string{"-var " + secret}},
		{"-var undeclared", nil, []string{"-var tokn=" + secret}},
		{"file wrong type", nil, []string{`-var-file n = "` + secret + `"`}},
		{"file undeclared", nil, []string{`-var-file tokn = "` + secret + `"`}},
		{"file bad syntax", nil, []string{`-var-file pw = "` + secret}},
		{"file function", nil, []string{`-var-file pw = upper("` + secret + `")`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, _, diags := resolve(t, c.env, c.specs...)
			if len(diags) == 0 {
				t.Fatal("want a diagnostic")
			}
			var b strings.Builder
			_ = WriteDiagnostics(&b, cfg.Files(), diags, 0, false)
			if out := b.String(); strings.Contains(out, "HUNTER2") {
				t.Errorf("a value is quoted:\n%s", out)
			}
		})
	}
}
