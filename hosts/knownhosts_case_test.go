package hosts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeKnownHosts(t *testing.T, f *fixture, content string) {
	t.Helper()
	if err := os.WriteFile(f.cfg.KnownHostsFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// OpenSSH matches known_hosts names without case; so does hako, also when
// the file has upper case: a hand-written entry is known, a different key
// under it is "changed" and never recorded beside it, -reprovision removes
// it, and negated patterns exclude without case too.
func TestKnownHostsEntryCase(t *testing.T) {
	f := newFixture(t)
	f.cfg.Address = "localhost"
	key := f.srv.hostKeys[0].PublicKey()
	upper := fmt.Sprintf("[LocalHost]:%d", f.srv.port)
	writeKnownHosts(t, f, "# hand-written\n"+knownHostsLine(upper, key)+"\n")
	f.dial(t).Close()

	old := newEd25519Signer(t).PublicKey()
	content := "# hand-written\n" + knownHostsLine(upper, old) + "\n"
	writeKnownHosts(t, f, content)
	f.cfg.AcceptNewHostKeys = true
	_, err := Dial(t.Context(), f.cfg)
	var changed *HostKeyChangedError
	if !errors.As(err, &changed) {
		t.Fatalf("a changed key under an upper-case entry: %v", err)
	}
	// Reported by the user's file and line, with the line as written.
	wantContains(t, err, f.cfg.KnownHostsFile+":2: "+upper)
	if got := readFile(t, f.cfg.KnownHostsFile); got != content {
		t.Errorf("known_hosts changed:\n%s", got)
	}

	f.cfg.Reprovision = true
	h := f.dial(t)
	if h.Replaced == nil || h.Replaced.Removed != 1 {
		t.Fatalf("replaced %+v", h.Replaced)
	}
	if got := readFile(t, f.cfg.KnownHostsFile); strings.Contains(got, upper) {
		t.Errorf("the upper-case entry stayed:\n%s", got)
	}

	// "Every host on this port but LocalHost" does not name localhost.
	f.cfg.Reprovision = false
	writeKnownHosts(t, f, fmt.Sprintf("[*]:%d,!%s %s", f.srv.port, upper, strings.SplitN(knownHostsLine("x", old), " ", 2)[1])+"\n")
	f.dial(t).Close()
	if got := readFile(t, f.cfg.KnownHostsFile); !strings.Contains(got, knownHostsLine(fmt.Sprintf("localhost:%d", f.srv.port), key)) {
		t.Errorf("the key was not recorded:\n%s", got)
	}
}

// Only the host pattern is lowered: not a hashed name, a comment, a
// marker or the key.
func TestLowerHostPatterns(t *testing.T) {
	in := "# Comment KEEPS Case\n" +
		"  Pi.Local,[Pi.Local]:2222 ssh-ed25519 AAAAKeyBlobWithCase comment Text\r\n" +
		"|1|SaLt=|HaSh= ssh-ed25519 AAAAKey\n" +
		"@cert-authority *.Example.COM ssh-ed25519 AAAAKey\n" +
		"@revoked\tFOO ssh-ed25519 AAAAKey\n" +
		"*,!Router.LAN ssh-ed25519 AAAAKey\n" +
		"\n" +
		"lower ssh-ed25519 AAAAKey"
	want := "# Comment KEEPS Case\n" +
		"  pi.local,[pi.local]:2222 ssh-ed25519 AAAAKeyBlobWithCase comment Text\r\n" +
		"|1|SaLt=|HaSh= ssh-ed25519 AAAAKey\n" +
		"@cert-authority *.example.com ssh-ed25519 AAAAKey\n" +
		"@revoked\tfoo ssh-ed25519 AAAAKey\n" +
		"*,!router.lan ssh-ed25519 AAAAKey\n" +
		"\n" +
		"lower ssh-ed25519 AAAAKey"
	got, changed := lowerHostPatterns([]byte(in))
	if string(got) != want || !changed {
		t.Errorf("got %v:\n%s", changed, got)
	}
	if _, changed := lowerHostPatterns([]byte("pi.local ssh-ed25519 AAAAKey\n|1|A|B ssh-ed25519 X\n")); changed {
		t.Error("a file without upper-case patterns is copied")
	}
}

// The lower-cased copy of a known_hosts file with upper-case names is made
// beside the file, never in $TMPDIR (which others may be able to write),
// and is gone afterwards.
func TestKnownHostsCaseCopyStaysBesideTheFile(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	dir := t.TempDir()
	file := filepath.Join(dir, "known_hosts")
	key := newEd25519Signer(t).PublicKey()
	if err := os.WriteFile(file, []byte(knownHostsLine("[LocalHost]:2222", key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := loadKnownHosts(file)
	if err != nil {
		t.Fatalf("load with an unusable TMPDIR: %v", err)
	}
	if algos := db.db.HostKeyAlgorithms("[localhost]:2222"); len(algos) == 0 {
		t.Error("the upper-case entry is not known")
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Errorf("the copy was left beside the file: %v", names)
	}
}
