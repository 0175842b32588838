package tasks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/attrs"
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

// A command's own timeout ends it (and its task) at that limit, with a
// message saying it was the task's timeout; a bad one is refused at decode.
func TestCommandTimeout(t *testing.T) {
	task := decode(t, "command", map[string]cty.Value{"command": str("sleep 60"), "timeout": str("300ms")})
	start := time.Now()
	err := task.Apply(t.Context(), local(), check(t, local(), task))
	if err == nil || !strings.Contains(err.Error(), "the command was still running after 300ms, the task's timeout; it was killed") {
		t.Errorf("err = %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the command ran %v", took)
	}
	fast := decode(t, "command", map[string]cty.Value{"command": str("true"), "timeout": str("1m")})
	if err := fast.Apply(t.Context(), local(), check(t, local(), fast)); err != nil {
		t.Errorf("a command within its timeout: %v", err)
	}

	k, _ := LookupKind("command")
	for _, bad := range []cty.Value{str("soon"), str("0s"), str("-5m"), str(""), str("10")} {
		a := &attrs.Attrs{Kind: "command", Name: "test", Dir: t.TempDir(), Items: map[string]attrs.Attr{
			"command": {Value: str("true")}, "timeout": {Value: bad}}}
		k.Decode(a)
		if !a.Diags.HasErrors() || !strings.Contains(a.Diags.Error(), `timeout must be a duration above zero such as "90s"`) {
			t.Errorf("timeout = %#v: %v", bad, a.Diags)
		}
	}
}
