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

// Errors about a sensitive path probe (a sensitive command's creates
// guard) do not name the path; errors about other paths do.
func TestProbeErrorsNameNoPath(t *testing.T) {
	order := []Probe{{ProbeStat | ProbeSensitive, "/root/hunter2.done"}, {ProbeRead | ProbeSensitive, "/root/hunter2.env"}}
	for _, out := range []string{"S 0 garbage\n", "S 0 -\n", "S 0 -\nC 1 !!notbase64\n"} {
		_, err := ParseAnswers([]byte(out), order)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("answer %q: err = %v", out, err)
		}
	}
	order = []Probe{{ProbeStat, "/etc/motd"}, {ProbeRead, "/etc/motd"}}
	for out, want := range map[string]string{
		"S 0 garbage\n":            `the path probe (stat) of "/etc/motd"`,
		"S 0 -\n":                  `no answer for the file probe (read) of "/etc/motd"`,
		"S 0 -\nC 1 !!notbase64\n": `the file probe (read) of "/etc/motd"`,
	} {
		if _, err := ParseAnswers([]byte(out), order); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("answer %q: err = %v, want %q", out, err, want)
		}
	}
	task := decode(t, "command", map[string]cty.Value{"command": str("true"),
		"creates": str("/root/hunter2.done").Mark(sensitiveMark{})})
	if p := task.Probes(); len(p) != 1 || p[0].Kind != ProbeStat|ProbeSensitive {
		t.Errorf("the probe of a sensitive creates guard: %+v", p)
	}
}
