// Package plantest builds plans from HCL source for tests of the packages
// that consume them (run, preflight).
package plantest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hako-dev/hako/plan"
)

// Build writes src as plan.hcl in a temp dir, loads and builds it with no
// variable values, and fails the test on any diagnostic.
func Build(t testing.TB, src string) *plan.Plan {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plan.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := plan.Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p, diags := plan.Build(cfg, plan.Inputs{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return p
}
