package tasks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/attrs"
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
	if _, err := task.Check(st, Env{}); err == nil {
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

// Owner and group must be names useradd would accept or numeric ids: one
// starting with '-' would be an option to the tools that set them.
func TestOwnerNamesAreChecked(t *testing.T) {
	for _, kind := range []string{"directory", "file"} {
		for _, attr := range []string{"owner", "group"} {
			for _, bad := range []string{"--reference=/etc/shadow", "-1", "a b", "root:root", "$(id)", "x/y"} {
				k, _ := LookupKind(kind)
				a := &attrs.Attrs{Kind: kind, Name: "test", Dir: t.TempDir(), Items: map[string]attrs.Attr{
					"path": {Value: str("/srv/d")}, "content": {Value: str("x")}, attr: {Value: str(bad)}}}
				k.Decode(a)
				if !a.Diags.HasErrors() || !strings.Contains(a.Diags.Error(), "Invalid "+attr) {
					t.Errorf("%s %s = %q: diagnostics %v", kind, attr, bad, a.Diags)
				}
			}
			for _, good := range []string{"www-data", "_apt", "1000", "Debian-exim", "smb$"} {
				decode(t, kind, map[string]cty.Value{"path": str("/srv/d"), "content": str("x"), attr: str(good)})
			}
		}
	}
}
