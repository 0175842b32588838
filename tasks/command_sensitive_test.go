package tasks

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// A command whose creates guard is sensitive shows neither the guard's
// path nor the command, whether the guard holds or not.
func TestCommandSensitiveCreatesNotShown(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "hunter2.done")
	for _, exists := range []bool{false, true} {
		if exists {
			write(t, done, "", 0o644)
		}
		task := decode(t, "command", map[string]cty.Value{"command": str("touch " + done),
			"creates": str(done).Mark(sensitiveMark{})})
		c := check(t, local(), task)
		if c.Changed() == exists || strings.Contains(c.Summary, "hunter2") {
			t.Errorf("creates exists=%v: %v %q", exists, c.Action, c.Summary)
		}
	}
}

// Errors about a path probe do not name the path: it may be a sensitive
// creates guard.
func TestProbeErrorsNameNoPath(t *testing.T) {
	order := []Probe{{ProbeStat, "/root/hunter2.done"}, {ProbeRead, "/root/hunter2.env"}}
	for _, out := range []string{"S 0 garbage\n", "S 0 -\n", "S 0 -\nC 1 !!notbase64\n"} {
		_, err := ParseAnswers([]byte(out), order)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("answer %q: err = %v", out, err)
		}
	}
}
