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

// GNU chmod keeps a directory's setgid bit for "0755": a directory made
// under a setgid parent (mkdir inherits the bit), or one that has it, must
// still converge to the plan's mode in one apply.
func TestDirectoryClearsSetgid(t *testing.T) {
	parent := t.TempDir()
	if err := os.Chmod(parent, os.ModeSetgid|0o755); err != nil {
		t.Fatal(err)
	}
	if fullMode(t, parent)&os.ModeSetgid == 0 {
		t.Fatal("the parent did not keep its setgid bit")
	}
	p := filepath.Join(parent, "app")
	task := decode(t, "directory", map[string]cty.Value{"path": str(p), "mode": str("0755")})
	timeline(t, local(), task, Create)
	if m := fullMode(t, p); m != os.ModeDir|0o755 {
		t.Errorf("new directory under a setgid parent: mode %v", m)
	}
	if err := os.Chmod(p, os.ModeSetgid|0o755); err != nil {
		t.Fatal(err)
	}
	timeline(t, local(), task, Update)
	if m := fullMode(t, p); m != os.ModeDir|0o755 {
		t.Errorf("setgid kept: mode %v", m)
	}
}

func fullMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}
