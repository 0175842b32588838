package tasks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestDirectoryCreateNested(t *testing.T) {
	p := filepath.Join(t.TempDir(), "opt", "app")
	task := decode(t, "directory", map[string]cty.Value{"path": str(p), "mode": str("0750")})
	timeline(t, local(), task, Create)
	if m := modeOf(t, p); m != 0o750 {
		t.Errorf("mode %o", m)
	}
}

func TestDirectoryModeUpdate(t *testing.T) {
	p := t.TempDir()
	if err := os.Chmod(p, 0o700); err != nil {
		t.Fatal(err)
	}
	task := decode(t, "directory", map[string]cty.Value{"path": str(p), "mode": str("0755")})
	c := timeline(t, local(), task, Update)
	if len(c.Attrs) != 1 || c.Attrs[0] != (AttrChange{"mode", "0700", "0755"}) {
		t.Errorf("attrs %+v", c.Attrs)
	}
}

func TestDirectoryOnFileIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "", 0o644)
	task := decode(t, "directory", map[string]cty.Value{"path": str(p)})
	st, err := Gather(t.Context(), local(), task.Probes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := task.Check(st); err == nil {
		t.Error("a file where a directory should be must be an error")
	}
}
