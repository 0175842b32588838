package tasks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hako-dev/hako/probe"
)

// A file in a folder another user owns is read as that user: the user
// can make the name lead to root's data (a hard link here; a link swapped
// in after the [ ! -L ] test does the same), and root would put that
// data in the plan's diff.
func TestProbeReadsAsFolderOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown, setpriv)")
	}
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // so that uid 4321 can get in
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(base, "secret")
	write(t, secret, "root only\n", 0o600)
	home := filepath.Join(base, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	trap := filepath.Join(home, "notes")
	if err := os.Link(secret, trap); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(home, "own")
	write(t, own, "hers\n", 0o600)
	if err := os.Chown(own, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	st, err := Gather(t.Context(), local(), []Probe{probe.File{Path: trap}, probe.File{Path: own}, probe.File{Path: secret}})
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Content(trap); c.Readable || c.SHA256 != "" {
		t.Errorf("root's data read through the user's folder: %+v", c)
	}
	if c := st.Content(own); !c.Readable || string(c.Data) != "hers\n" {
		t.Errorf("her own file: %+v", c)
	}
	if c := st.Content(secret); !c.Readable || string(c.Data) != "root only\n" {
		t.Errorf("root's file in root's folder: %+v", c)
	}
}
