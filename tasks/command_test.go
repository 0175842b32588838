package tasks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestCommandCreates(t *testing.T) {
	marker := filepath.Join(t.TempDir(), ".initialised")
	task := decode(t, "command", map[string]cty.Value{"command": str("touch " + marker), "creates": str(marker)})
	c := timeline(t, local(), task, Run)
	if !strings.Contains(c.Summary, "touch") {
		t.Errorf("summary %q", c.Summary)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error(err)
	}
}

func TestCommandUnless(t *testing.T) {
	f := filepath.Join(t.TempDir(), "log")
	task := decode(t, "command", map[string]cty.Value{"command": str("echo line >> " + f),
		"unless": str("grep -q line " + f)})
	timeline(t, local(), task, Run)
	if b, _ := os.ReadFile(f); string(b) != "line\n" {
		t.Errorf("ran more than once: %q", b)
	}
}

func TestCommandUnguardedAlwaysRuns(t *testing.T) {
	task := decode(t, "command", map[string]cty.Value{"command": str("true")})
	k, _ := LookupKind("command")
	if !k.AlwaysRuns(task) {
		t.Error("an unguarded command should always run")
	}
	if c := check(t, local(), task); c.Action != Run {
		t.Errorf("planned %v", c.Action)
	}
}

func TestCommandFailureShowsStderr(t *testing.T) {
	task := decode(t, "command", map[string]cty.Value{"command": str("echo boom >&2; exit 3")})
	err := task.Apply(t.Context(), local(), check(t, local(), task))
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "3") {
		t.Errorf("err = %v", err)
	}
}

func TestSensitiveCommandHidesOutput(t *testing.T) {
	task := decode(t, "command", map[string]cty.Value{"command": str("echo hunter2 >&2; exit 1").Mark(sensitiveMark{})})
	c := check(t, local(), task)
	if strings.Contains(c.Summary, "hunter2") {
		t.Errorf("summary leaks: %q", c.Summary)
	}
	err := task.Apply(t.Context(), local(), c)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}

func TestSensitiveGuardMakesTheCommandSensitive(t *testing.T) {
	task := decode(t, "command", map[string]cty.Value{"command": str("rotate-token"),
		"unless": str("grep -q hunter2 /etc/app.env").Mark(sensitiveMark{})})
	if c := check(t, local(), task); strings.Contains(c.Summary, "rotate-token") || !strings.Contains(c.Summary, "sensitive") {
		t.Errorf("summary %q", c.Summary)
	}
}
