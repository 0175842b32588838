package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/fuzzbound"
	"github.com/zclconf/go-cty/cty"
)

// fuzzSecret is the sensitive value the fuzzed templates may use.
const fuzzSecret = "hunter2-fuzz"

// FuzzTemplateFile renders fuzzed template text with templatefile, with the
// values of the built-in templates' tests and a sensitive one: no panic,
// an answer within a bound, and the secret never shows unmarked: not in
// output that is not marked sensitive, not in an error.
func FuzzTemplateFile(f *testing.F) {
	for _, dir := range []string{"testdata", "builtin"} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.tftpl"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`%{ for k, v in { a = pw } }${k}=${upper(v)}%{ endfor }`))
	f.Add([]byte(`${format("%s:%d", user, table)} ${jsonencode(dns)} ${sha256(password)}`))
	f.Add([]byte(`${substr(pw, 0, 3)}${ try(tonumber(pw), "x") }`))

	vars := map[string]cty.Value{"pw": cty.StringVal(fuzzSecret).Mark(secret{})}
	for _, vs := range builtinVars {
		for k, v := range vs {
			vars[k] = v
		}
	}
	obj := cty.ObjectVal(vars)
	f.Fuzz(func(t *testing.T, src []byte) {
		defer fuzzbound.Start()()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "t.tftpl"), src, 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := Functions(dir)["templatefile"].Call([]cty.Value{cty.StringVal("t.tftpl"), obj})
		leaks := !strings.Contains(string(src), fuzzSecret)
		if err != nil {
			if leaks && strings.Contains(err.Error(), fuzzSecret) {
				t.Errorf("the error shows the secret: %v", err)
			}
			return
		}
		if v.IsMarked() {
			return
		}
		if !v.IsKnown() || v.IsNull() {
			t.Fatalf("templatefile returned %#v", v)
		}
		if leaks && strings.Contains(v.AsString(), fuzzSecret) {
			t.Errorf("unmarked output shows the secret: %q", v.AsString())
		}
	})
}
