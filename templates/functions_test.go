package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

type secret struct{}

func eval(t *testing.T, src string, vars map[string]cty.Value) (cty.Value, hcl.Diagnostics) {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "test.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return expr.Value(&hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)},
		Functions: Functions("testdata"),
	})
}

func TestTerraformFunctions(t *testing.T) {
	cases := map[string]string{
		`format("%s:%d", "h", 22)`:              "h:22",
		`join(",", split(" ", "a b c"))`:        "a,b,c",
		`base64encode("hako")`:                  "aGFrbw==",
		`base64decode("aGFrbw==")`:              "hako",
		`sha256("")`:                            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		`jsonencode({b = 1, a = "x"})`:          `{"a":"x","b":1}`,
		`tostring(length(concat([1], [2, 3])))`: "3",
		`lookup({a = "1"}, "b", "none")`:        "none",
		`trimspace(file("plain.tftpl"))`:        "plain ${name}",
		`tostring(startswith("hako", "ha"))`:    "true",
		`regexreplace("a1b2", "[0-9]", "")`:     "ab",
	}
	for src, want := range cases {
		v, diags := eval(t, src, map[string]cty.Value{})
		if diags.HasErrors() {
			t.Errorf("%s: %v", src, diags)
			continue
		}
		if v.AsString() != want {
			t.Errorf("%s = %q, want %q", src, v.AsString(), want)
		}
	}
}

func TestTemplateFileMarksOnlyWhatUsesTheSecret(t *testing.T) {
	vars := map[string]cty.Value{"pw": cty.StringVal("hunter2").Mark(secret{})}
	v, diags := eval(t, `templatefile("secret.tftpl", { user = "pi", admin = true, pw = var.pw })`, vars)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if !v.IsMarked() {
		t.Fatal("output derived from a secret must stay marked")
	}
	plain, _ := v.Unmark()
	if got := plain.AsString(); got != "user=pi\nadmin\npw=hunter2\n" {
		t.Errorf("rendered %q", got)
	}
	v, diags = eval(t, `templatefile("plain.tftpl", { name = "x", unused = var.pw })`, vars)
	if diags.HasErrors() || v.IsMarked() || v.AsString() != "plain x\n" {
		t.Errorf("a template that does not use the secret: %#v %v", v.IsMarked(), diags)
	}
}

func TestTemplateFileErrors(t *testing.T) {
	cases := map[string]string{
		`templatefile("nope.tftpl", {})`:        `no file exists at "nope.tftpl"`,
		`templatefile("plain.tftpl", {})`:       `vars map does not contain key "name"`,
		`templatefile("plain.tftpl", "x")`:      "vars must be an object or a map",
		`file("../functions.go") == "" ? 1 : 2`: "", // readable: paths may leave the plan dir on purpose
		`templatefile("recursive.tftpl", {})`:   `no function named "templatefile"`,
		// Not regular files: read forever, or wait forever for a writer.
		`file("/dev/zero")`:              `cannot read "/dev/zero": it is not a regular file`,
		`templatefile("/dev/stdin", {})`: `cannot read "/dev/stdin": it is not a regular file`,
		`file(".")`:                      `cannot read ".": it is not a regular file`,
	}
	for src, want := range cases {
		_, diags := eval(t, src, map[string]cty.Value{})
		if want == "" {
			if diags.HasErrors() {
				t.Errorf("%s: %v", src, diags)
			}
			continue
		}
		if !diags.HasErrors() || !strings.Contains(diags.Error(), want) {
			t.Errorf("%s: want error %q, got %v", src, want, diags)
		}
	}
}

func TestFileExpandsHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.WriteFile(filepath.Join(home, "key.pub"), []byte("ssh-ed25519 AAAA x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, diags := eval(t, `file("~/key.pub")`, map[string]cty.Value{})
	if diags.HasErrors() || v.AsString() != "ssh-ed25519 AAAA x\n" {
		t.Errorf("%q %v", v.AsString(), diags)
	}
}
