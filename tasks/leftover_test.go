package tasks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/probe"
	"github.com/zclconf/go-cty/cty"
)

// rootOnlyDir is a fresh folder that it and every folder above it are
// root's alone, where hako removes leftover temp files.
func rootOnlyDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a folder only root can write needs root")
	}
	dir, err := os.MkdirTemp("/var/cache", "hako-test-")
	if err != nil {
		t.Skip("no /var/cache to make a root-only folder in:", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A leftover temp file of an interrupted write next to a file whose content
// is already right is still a change (it may hold a secret): plan names it
// without its content, apply removes it and only it, and a second check is
// a no-op. A symlink named like a temp file is not hako's and stays, and so
// does its target.
func TestFileLeftoverTempRemoved(t *testing.T) {
	dir := rootOnlyDir(t)
	p := filepath.Join(dir, "app.env")
	write(t, p, "TOKEN=x\n", 0o600)
	stale := filepath.Join(dir, ".app.env.hako-0123456789ab")
	write(t, stale, "TOKEN=old-secret\n", 0o600)
	victim := filepath.Join(dir, "victim")
	write(t, victim, "keep me\n", 0o600)
	link := filepath.Join(dir, ".app.env.hako-aaaaaaaaaaaa")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	others := []string{ // not names hako gives to temp files of app.env
		filepath.Join(dir, ".app.env.hako-0123"), filepath.Join(dir, ".app.env.hako-0123456789AB"),
		filepath.Join(dir, ".other.hako-0123456789ab"), filepath.Join(dir, "app.env.hako-0123456789ab"),
	}
	for _, o := range others {
		write(t, o, "x", 0o600)
	}
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("TOKEN=x\n").Mark(sensitiveMark{})})
	c := timeline(t, local(), task, Update)
	if !strings.Contains(c.Summary, "remove leftover temp file") || c.Content != nil {
		t.Errorf("change %+v", c)
	}
	if len(c.Attrs) != 1 || c.Attrs[0] != (AttrChange{"leftover temp file", stale, ""}) {
		t.Errorf("attrs %+v", c.Attrs)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("leftover still there: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink named like a temp file was touched: %v", err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep me\n" {
		t.Errorf("the symlink's target changed: %q", got)
	}
	for _, o := range append(others, p) {
		if _, err := os.Stat(o); err != nil {
			t.Errorf("%s: %v", o, err)
		}
	}
}

// Leftovers next to a file that also changes are removed in the same apply.
func TestFileLeftoverWithContentChange(t *testing.T) {
	dir := rootOnlyDir(t)
	p := filepath.Join(dir, "motd")
	write(t, p, "old\n", 0o644)
	for _, s := range []string{"0123456789ab", "ba9876543210"} {
		write(t, filepath.Join(dir, ".motd.hako-"+s), "half", 0o600)
	}
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("new\n")})
	c := timeline(t, local(), task, Update)
	if c.Summary != "update "+p || c.Content == nil || len(c.Attrs) != 2 {
		t.Errorf("change %+v", c)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the folder: %v", entries)
	}
}

// In a folder another user can write, root does not remove by path: the
// leftover stays, the task plans nothing for it and the warning names it.
func TestFileLeftoverInSharedFolderIsOnlyWarned(t *testing.T) {
	dir := t.TempDir()
	// Like /tmp: anyone may add names (and the probe, reading as nobody
	// there, can get in).
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, os.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "motd")
	write(t, p, "x\n", 0o644)
	stale := filepath.Join(dir, ".motd.hako-0123456789ab")
	write(t, stale, "half", 0o600)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("x\n")})
	st, err := Gather(context.Background(), local(), task.Probes())
	if err != nil {
		t.Fatal(err)
	}
	if lo := st.Leftovers(dir); lo.RootOnly || len(lo.Of(p)) != 1 || lo.Of(p)[0] != stale {
		t.Fatalf("leftovers %+v", lo)
	}
	c, err := task.Check(st, Env{})
	if err != nil || c.Changed() {
		t.Fatalf("planned %+v, %v", c, err)
	}
	w := task.(*File).LeftoverWarning(st)
	if !strings.Contains(w, stale) || !strings.Contains(w, "by hand") {
		t.Errorf("warning %q", w)
	}
}

// The folder is checked again when the leftovers are removed: one that
// became writable by others since the check keeps its leftover.
func TestFileLeftoverRecheckedAtApply(t *testing.T) {
	dir := rootOnlyDir(t)
	p := filepath.Join(dir, "motd")
	write(t, p, "x\n", 0o644)
	stale := filepath.Join(dir, ".motd.hako-0123456789ab")
	write(t, stale, "half", 0o600)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("x\n")})
	c := check(t, local(), task)
	if c.Action != Update {
		t.Fatalf("planned %+v", c)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	err := task.Apply(context.Background(), local(), c)
	if err == nil || !strings.Contains(err.Error(), "no longer writable by root alone") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("leftover removed from a shared folder: %v", err)
	}
}

// The names the probe looks for are the names hosts gives its temp files:
// a write whose validate command records its temp file's name, then fails
// (as an interrupted write would, but cleaned up), names one that Of finds.
func TestLeftoverNameIsHostsTempName(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "motd")
	record := filepath.Join(dir, "name")
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("x\n"),
		"validate": str("echo %s >" + record + "; false")})
	if err := task.Apply(context.Background(), local(), check(t, local(), task)); err == nil {
		t.Fatal("validate should have failed")
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	temp := strings.TrimSpace(string(b))
	lo := Leftovers{Dir: dir, Names: []string{filepath.Base(temp)}}
	if got := lo.Of(p); len(got) != 1 || got[0] != temp {
		t.Errorf("hosts wrote its temp file to %s; Of finds %q", temp, got)
	}
}

// A root folder reached through a user's folder is not root's alone: the
// user chooses where her link leads, so she could have root remove temp
// files named after the plan's file in any root folder. The check follows
// the way the path takes, not just the folder it leads to now.
func TestLeftoverRouteThroughUserFolder(t *testing.T) {
	base := rootOnlyDir(t)
	etc := filepath.Join(base, "etc")
	home := filepath.Join(base, "home")
	srv := filepath.Join(base, "srv")
	for _, d := range []string{etc, home, srv} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(home, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(etc, ".app.conf.hako-0123456789ab"), "root's\n", 0o600)
	// Root's link into her home, where she put a link to root's folder.
	if err := os.Symlink(filepath.Join(home, "conf"), filepath.Join(srv, "conf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(etc, filepath.Join(home, "conf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(home, "conf"), 4321, 4321); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(srv, "conf")
	st, err := Gather(t.Context(), local(), []Probe{probe.Leftovers{Dir: dir}, probe.Leftovers{Dir: etc}})
	if err != nil {
		t.Fatal(err)
	}
	if lo := st.Leftovers(dir); lo.RootOnly {
		t.Errorf("a folder reached through uid 4321's folder counts as root's alone: %+v", lo)
	}
	if lo := st.Leftovers(etc); !lo.RootOnly || len(lo.Names) != 1 {
		t.Errorf("root's own folder: %+v", lo)
	}
	err = removeLeftovers(t.Context(), local(), filepath.Join(dir, "app.conf"), []string{filepath.Join(dir, ".app.conf.hako-0123456789ab")})
	if err == nil {
		t.Error("removing through uid 4321's folder was not refused")
	}
	if _, err := os.Stat(filepath.Join(etc, ".app.conf.hako-0123456789ab")); err != nil {
		t.Errorf("root's file was removed through her link: %v", err)
	}
}
