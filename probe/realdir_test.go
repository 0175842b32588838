package probe

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hako-dev/hako/hosts"
)

// RealDir answers the folder with every symlink on the way resolved, also
// for a folder that does not exist yet, and nothing it cannot know.
func TestRealDir(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "real", "sub"), 0o755))
	must(os.Symlink(filepath.Join(root, "real"), filepath.Join(root, "link")))
	must(os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "dangling")))
	must(os.WriteFile(filepath.Join(root, "file"), nil, 0o644))
	cases := map[string]string{
		root + "/real/sub":         root + "/real/sub",
		root + "/link/sub":         root + "/real/sub",
		root + "/link/new/deeper":  root + "/real/new/deeper",
		root + "/missing/a":        root + "/missing/a",
		root + "/dangling/a":       "",
		root + "/file/a":           "",
		"/":                        "/",
		"/hako-no-such-folder/x/y": "/hako-no-such-folder/x/y",
	}
	var reqs []Request
	for d := range cases {
		reqs = append(reqs, RealDir{Path: d})
	}
	a, err := Gather(context.Background(), hosts.NewLocal("local"), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range cases {
		if got := Answer[string](a, RealDir{Path: d}); got != want {
			t.Errorf("RealDir %s = %q, want %q", d, got, want)
		}
	}
}
