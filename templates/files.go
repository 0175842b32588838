package templates

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// resolve makes a plan-relative path absolute; absolute paths stay as
// they are, and "~/" starts at the user's home (file("~/.ssh/id.pub")).
func resolve(baseDir, p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(baseDir, p)
}

var errNotFound = errors.New("no file exists")

// maxPlanFileBytes bounds a file that file() or templatefile() reads into
// the plan: its content is held in memory, shown in diffs and sent to
// every host. Larger files belong in a file task's source.
const maxPlanFileBytes = 16 << 20

// readPlanFile reads a file named in the plan, with an error that names the
// path as the user wrote it. Only a regular file of at most
// maxPlanFileBytes is read: /dev/zero would be read until memory runs
// out, and a FIFO or /dev/stdin would wait forever.
func readPlanFile(baseDir, p string) ([]byte, error) {
	f, err := os.Open(resolve(baseDir, p))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w at %q (paths are relative to the plan directory)", errNotFound, p)
	case err != nil:
		return nil, fmt.Errorf("cannot read %q: %v", p, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("cannot read %q: %v", p, err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot read %q: it is not a regular file (%s)", p, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPlanFileBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("cannot read %q: %v", p, err)
	case len(b) > maxPlanFileBytes:
		return nil, fmt.Errorf("cannot read %q: it is larger than %d MiB; use a file task's source for large files", p, maxPlanFileBytes>>20)
	}
	return b, nil
}

func fileFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			b, err := readPlanFile(baseDir, p)
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			if !utf8.Valid(b) {
				return cty.NilVal, function.NewArgErrorf(0, "%q is not valid UTF-8; use a file task's source attribute for binary files", p)
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

func fileExistsFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			fi, err := os.Stat(resolve(baseDir, args[0].AsString()))
			return cty.BoolVal(err == nil && fi.Mode().IsRegular()), nil
		},
	})
}

// templateFileFunc is Terraform's templatefile(path, vars): the template sees
// only the keys of vars, and the functions funcs() returns.
func templateFileFunc(baseDir string, funcs func() map[string]function.Function) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType, AllowMarked: true},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			src, name, err := readTemplate(baseDir, args[0].AsString())
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			// Shallow unmark: marks on attributes stay there, so only output
			// that really derives from a secret is marked.
			vars, marks := args[1].Unmark()
			out, err := Render(name, src, vars, funcs())
			if err != nil {
				return cty.NilVal, err
			}
			return out.WithMarks(marks), nil
		},
	})
}

// Render evaluates src as an HCL template with the attributes of vars as its
// only variables. filename is used in error positions.
func Render(filename string, src []byte, vars cty.Value, funcs map[string]function.Function) (cty.Value, error) {
	expr, diags := hclsyntax.ParseTemplate(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if vars.IsNull() || !(vars.Type().IsObjectType() || vars.Type().IsMapType()) {
		return cty.NilVal, function.NewArgErrorf(1, "vars must be an object or a map")
	}
	if !vars.IsKnown() {
		return cty.UnknownVal(cty.String), nil
	}
	m := vars.AsValueMap()
	if m == nil {
		m = map[string]cty.Value{} // nil would mean "variables not allowed"
	}
	for _, tr := range expr.Variables() {
		if _, ok := m[tr.RootName()]; !ok {
			return cty.NilVal, function.NewArgErrorf(1, "vars map does not contain key %q, referenced at %s",
				tr.RootName(), tr.SourceRange())
		}
	}
	v, diags := expr.Value(&hcl.EvalContext{Variables: m, Functions: funcs})
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return v, nil
}
