package sdcard

import (
	"bytes"
	"crypto/ed25519"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// bootCopy copies testdata/boot/NAME to a fresh directory: the tests write
// to the copy, never to testdata.
func bootCopy(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", "boot", name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// snapshot returns every file of dir with its content and mode.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		content := ""
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			content = string(b)
		}
		out[rel] = info.Mode().String() + "\n" + content
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, a := range after {
		if b, ok := before[name]; !ok {
			t.Errorf("%s appeared", name)
		} else if a != b {
			t.Errorf("%s changed:\nbefore %q\nafter  %q", name, b, a)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			t.Errorf("%s disappeared", name)
		}
	}
}

// testKey is a fixed ed25519 key, so that the goldens are stable.
func testKey(t *testing.T) PublicKey {
	t.Helper()
	dir := t.TempDir()
	priv := filepath.Join(dir, "id_ed25519")
	writePub(t, priv, "alice@laptop")
	k, err := LoadPublicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writePub writes identity+".pub" for the fixed test key, and no private
// key: hako sdcard must not need it.
func writePub(t *testing.T, identity, comment string) string {
	t.Helper()
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public()
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
	if err := os.WriteFile(identity+".pub", []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return line
}

// mask hides the random parts of what is written (the password hash), and
// the temporary directories, in goldens.
func mask(s, dir string, key PublicKey) string {
	s = hashRE.ReplaceAllString(s, "$$6$$SALT$$HASH")
	s = strings.ReplaceAll(s, dir, "BOOT")
	s = strings.ReplaceAll(s, key.Path, "KEY.pub")
	return s
}

// golden compares got with testdata/golden/NAME, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./sdcard/ -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func actions(r *Result) map[string]Outcome {
	m := map[string]Outcome{}
	for _, a := range r.Files {
		m[a.File] = a.Outcome
	}
	return m
}
