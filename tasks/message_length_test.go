package tasks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// The warning about leftover temp files hako leaves stays under 300
// characters as plan prints it, with a leftover of a file in a user's
// home (each further leftover adds its path) (the test's own, longer, temporary folder is measured as such a one),
// and still names them and says to remove them by hand.
func TestLeftoverWarningIsShort(t *testing.T) {
	dir := t.TempDir()
	// Like a user's home: not root's alone, so hako only warns.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "app.env")
	write(t, p, "TOKEN=x\n", 0o600)
	write(t, filepath.Join(dir, ".app.env.hako-0123456789ab"), "TOKEN=old\n", 0o600)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("TOKEN=x\n")})
	task.(*File).addr = Address{Kind: "file", Name: "application_environment"}
	st, err := Gather(context.Background(), local(), task.Probes())
	if err != nil {
		t.Fatal(err)
	}
	w := task.(*File).LeftoverWarning(st)
	if w == "" {
		t.Fatal("no warning")
	}
	msg := "warning: " + strings.ReplaceAll(w, dir, "/home/hanako/app") + " (check leftover-temp)"
	t.Logf("%d: %s", len(msg), msg)
	if len(msg) > 300 {
		t.Errorf("%d characters: %s", len(msg), msg)
	}
	for _, want := range []string{"file.application_environment", "/home/hanako/app/.app.env.hako-0123456789ab", "may hold its content", "by hand", "root alone"} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in %s", want, msg)
		}
	}
}
