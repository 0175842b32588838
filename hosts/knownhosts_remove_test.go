package hosts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A symlinked known_hosts stays a link when entries are removed
// (reprovisioning): the link's target gets the new content.
func TestRemoveHostEntriesKeepsASymlink(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"dotfiles", ".ssh"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(dir, "dotfiles", "known_hosts")
	link := filepath.Join(dir, ".ssh", "known_hosts")
	old := newEd25519Signer(t).PublicKey()
	other := knownHostsLine("[other]:22", old)
	if err := os.WriteFile(target, []byte(knownHostsLine("[pi]:2222", old)+"\n"+other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../dotfiles/known_hosts", link); err != nil {
		t.Fatal(err)
	}
	n, err := removeHostEntries(link, []string{"[pi]:2222"})
	if err != nil || n != 1 {
		t.Fatalf("removed %d: %v", n, err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("known_hosts is no longer a symlink: %v %v", fi.Mode(), err)
	}
	if got := readFile(t, target); got != other+"\n" {
		t.Errorf("the link's target holds:\n%s", got)
	}
	if names, _ := os.ReadDir(filepath.Join(dir, ".ssh")); len(names) != 1 {
		t.Errorf("left in .ssh: %v", names)
	}
	if names, _ := os.ReadDir(filepath.Join(dir, "dotfiles")); len(names) != 1 || !strings.HasPrefix(names[0].Name(), "known_hosts") {
		t.Errorf("left in dotfiles: %v", names)
	}
}
