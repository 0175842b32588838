package hosts

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mkdirOwned makes a directory with the given owner and mode (as root).
func mkdirOwned(t *testing.T, p string, uid int, mode os.FileMode) string {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlace(t *testing.T) {
	requireRoot(t) // chown
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	rootDir := mkdirOwned(t, filepath.Join(base, "root"), 0, 0o755)
	home := mkdirOwned(t, filepath.Join(base, "home"), 4321, 0o755)
	sub := mkdirOwned(t, filepath.Join(home, "sub"), 0, 0o755) // root's folder in a user's: still the user's domain
	other := mkdirOwned(t, filepath.Join(home, "bob"), 5555, 0o755)
	groupW := mkdirOwned(t, filepath.Join(base, "groupw"), 0, 0o775)
	sticky := mkdirOwned(t, filepath.Join(base, "sticky"), 0, os.ModeSticky|0o777)
	inSticky := mkdirOwned(t, filepath.Join(sticky, "mine"), 0, 0o755)
	if err := os.Symlink(home, filepath.Join(rootDir, "tohome")); err != nil { // root's link to a user's folder
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(home, "toetc")); err != nil { // the user's link out
		t.Fatal(err)
	}
	if err := os.Symlink("../../root", filepath.Join(sub, "up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(home, "toetc"), 4321, 4321); err != nil {
		t.Fatal(err)
	}

	ok := []struct {
		dir     string
		forUID  int
		want    string
		user    int
		missing []string
	}{
		{rootDir, noUser, rootDir, noUser, nil},
		{rootDir, 4321, rootDir, noUser, nil}, // root's folders: root may write a file for anyone
		{home, noUser, home, 4321, nil},
		{home, 4321, home, 4321, nil},
		{sub, 4321, sub, 4321, nil},
		{inSticky, 0, inSticky, noUser, nil}, // /tmp/x: others cannot move root's entry
		{filepath.Join(rootDir, "tohome"), 4321, home, 4321, nil},
		{filepath.Join(home, "toetc"), 4321, "/etc", 4321, nil}, // followed, but the work is the user's
		{filepath.Join(sub, "up"), 4321, rootDir, 4321, nil},
		{filepath.Join(rootDir, "a", "b"), 0, rootDir, noUser, []string{"a", "b"}},
		{filepath.Join(home, "new"), noUser, home, 4321, []string{"new"}},
	}
	for _, c := range ok {
		pl, err := place(localOps{}, c.dir, c.forUID)
		if err != nil || pl.dir != c.want || pl.user != c.user || !slices.Equal(pl.missing, c.missing) {
			t.Errorf("place(%s, %d) = %+v, %v; want dir %s, user %d, missing %v", c.dir, c.forUID, pl, err, c.want, c.user, c.missing)
		}
	}

	refused := []struct {
		dir    string
		forUID int
		at     string
		why    string
	}{
		{home, 0, home, "belongs to uid 4321"},                         // a file for root in a user's folder
		{home, 999, home, "not to uid 999"},                            // for a third user
		{filepath.Join(home, "toetc"), 0, home, "belongs to uid 4321"}, // root through the user's link
		{other, 4321, other, "not to uid 4321"},
		{other, noUser, other, "a folder above it to uid 4321"},
		{groupW, noUser, groupW, "writable by its group or by others (mode 0775)"},
		{sticky, 0, sticky, "a sticky folder"},
		{filepath.Join(rootDir, "tohome"), 0, home, "belongs to uid 4321"},
	}
	for _, c := range refused {
		_, err := place(localOps{}, c.dir, c.forUID)
		var ue *UnsafePathError
		if !errors.As(err, &ue) || ue.Path != c.at || !strings.Contains(err.Error(), c.why) {
			t.Errorf("place(%s, %d): got %v; want a refusal at %s saying %q", c.dir, c.forUID, err, c.at, c.why)
		}
	}
	if _, err := place(localOps{}, rootDir+"/tohome/missing/..", 4321); err == nil {
		t.Errorf("a missing folder followed by .. must be an error")
	}
}

// A file for root in a folder a user owns is refused before anything is
// written; the same write for the user is done as the user (which the
// local host cannot, so it says so) and never as root.
func TestWriteFileRefusesUserFolder(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	home := mkdirOwned(t, filepath.Join(base, "home"), 4321, 0o755)
	h := NewLocal("local")
	err := h.WriteFile(t.Context(), FileWrite{Path: filepath.Join(home, "f"), Content: []byte("x"), Mode: 0o600, Owner: "0"})
	var ue *UnsafePathError
	if !errors.As(err, &ue) || ue.Path != home {
		t.Errorf("file for root in a user's folder: %v", err)
	}
	err = h.WriteFile(t.Context(), FileWrite{Path: filepath.Join(home, "f"), Content: []byte("x"), Mode: 0o600, Owner: "4321"})
	if err == nil || !strings.Contains(err.Error(), "not as uid 4321") {
		t.Errorf("file for the user in their folder: %v", err)
	}
	if got := dirNames(t, home); len(got) != 0 {
		t.Errorf("left behind: %v", got)
	}
	err = h.MakeDir(t.Context(), Dir{Path: filepath.Join(home, "d"), Owner: "root"})
	if !errors.As(err, &ue) || ue.Path != home {
		t.Errorf("folder for root in a user's folder: %v", err)
	}
}

// The validate command gets the temp file as "$1": a template that puts
// %s inside single quotes of an inner shell does not turn the path into
// shell text, so a path holding $(...) runs nothing.
func TestWriteFileValidatePathIsAWord(t *testing.T) {
	eachHost(t, func(t *testing.T, h Host) {
		dir := filepath.Join(t.TempDir(), "d$(echo PWNED >&2)")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "f")
		err := h.WriteFile(t.Context(), FileWrite{Path: p, Content: []byte("x\n"), Mode: 0o644, Validate: "sh -c 'test -s %s'"})
		var ve *ValidateError
		if !errors.As(err, &ve) {
			t.Fatalf("the inner shell has no $1, so validate must fail: %v", err)
		}
		if strings.Contains(string(ve.Result.Stderr), "PWNED") {
			t.Fatalf("the path ran as shell code: stderr %q", ve.Result.Stderr)
		}
		// The plain form works on such a path.
		if err := h.WriteFile(t.Context(), FileWrite{Path: p, Content: []byte("x\n"), Mode: 0o644, Validate: "test -s %s && grep -qx x %s"}); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, "x\n", 0o644)
	})
}

// Bad owner or group names are refused before anything reaches the host:
// a leading '-' would be an option to chown.
func TestWriteFileOwnerNames(t *testing.T) {
	h := NewLocal("local")
	p := filepath.Join(t.TempDir(), "f")
	for _, bad := range []FileWrite{
		{Path: p, Owner: "--reference=/etc/shadow"},
		{Path: p, Group: "a b"},
		{Path: p, Owner: "x:y"},
		{Path: p, Owner: "$(id)"},
		{Path: p, Owner: "4294967296"}, // would wrap to root on the host
		{Path: p, Group: "4294967295"}, // chown's "leave as it is"
	} {
		err := h.WriteFile(t.Context(), bad)
		if err == nil || !strings.Contains(err.Error(), "invalid request") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if err := CheckOwnerName("owner", "4294967294"); err != nil {
		t.Errorf("the largest id: %v", err)
	}
	err := h.WriteFile(t.Context(), FileWrite{Path: p + "\nx"})
	if err == nil || !strings.Contains(err.Error(), "control character") {
		t.Errorf("newline in a path: %v", err)
	}
}
