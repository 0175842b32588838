package tasks

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/probe"
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

// A sensitive creates guard is probed as a sensitive path, which errors
// do not name (package probe).
func TestCommandSensitiveCreatesProbe(t *testing.T) {
	task := decode(t, "command", map[string]cty.Value{"command": str("true"),
		"creates": str("/root/hunter2.done").Mark(sensitiveMark{})})
	if p := task.Probes(); len(p) != 1 || p[0] != (probe.Stat{Path: "/root/hunter2.done", Sensitive: true}) {
		t.Errorf("the probe of a sensitive creates guard: %+v", p)
	}
}
