package sdcard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadPublicKey(t *testing.T) {
	dir := t.TempDir()
	id := filepath.Join(dir, "id_ed25519")
	line := writePub(t, id, "alice@laptop")

	k, err := LoadPublicKey(id) // the private key does not even exist
	if err != nil {
		t.Fatal(err)
	}
	if k.AuthorizedKey != line || k.Path != id+".pub" || k.Type != "ssh-ed25519" || !strings.HasPrefix(k.Fingerprint, "SHA256:") {
		t.Errorf("%+v", k)
	}
	if k2, err := LoadPublicKey(id + ".pub"); err != nil || k2 != k {
		t.Errorf("given the .pub itself: %+v, %v", k2, err)
	}

	t.Setenv("HOME", dir)
	if k2, err := LoadPublicKey("~/id_ed25519"); err != nil || k2.AuthorizedKey != line || k2.Path != id+".pub" {
		t.Errorf("~/: %+v, %v", k2, err)
	}
}

func TestLoadPublicKeyComment(t *testing.T) {
	dir := t.TempDir()
	id := filepath.Join(dir, "k")
	line := writePub(t, id, `me@host "quoted" $(rm -rf /) 'x'`)
	k, err := LoadPublicKey(id)
	if err != nil {
		t.Fatal(err)
	}
	key, _, _ := strings.Cut(line, " me@")
	if want := key + " me@host quoted rm -rf / x"; k.AuthorizedKey != want {
		t.Errorf("%q, want %q", k.AuthorizedKey, want)
	}
}

func TestLoadPublicKeyErrors(t *testing.T) {
	dir := t.TempDir()
	secret := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"
	write(t, dir, "priv.pub", secret)
	write(t, dir, "junk.pub", "this is not a key at all\n")
	write(t, dir, "opts.pub", `command="true" `+strings.TrimSpace(readFile(t, testKey(t).Path))+"\n")
	cases := []struct {
		id   string
		want []string
	}{
		{filepath.Join(dir, "missing"), []string{filepath.Join(dir, "missing.pub") + " does not exist", "ssh-keygen -y -f"}},
		{filepath.Join(dir, "priv"), []string{"holds a private key"}},
		{filepath.Join(dir, "junk"), []string{"is not an OpenSSH public key"}},
		{filepath.Join(dir, "opts"), []string{"authorized_keys options"}},
		{"", []string{"no identity file"}},
	}
	for _, c := range cases {
		_, err := LoadPublicKey(c.id)
		if err == nil {
			t.Errorf("%s: no error", c.id)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.id, err, w)
			}
		}
		if strings.Contains(err.Error(), "b3BlbnNz") || strings.Contains(err.Error(), "not a key at all") {
			t.Errorf("%s: the error quotes the file: %v", c.id, err)
		}
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big+".pub", make([]byte, maxPubSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPublicKey(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big: %v", err)
	}
}

func TestCheckUserName(t *testing.T) {
	for _, ok := range []string{"pi", "alice", "a-1", strings.Repeat("a", 32)} {
		if err := checkUserName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "root", "Alice", "1pi", "-pi", "al_ice", "al.ice", "a b", strings.Repeat("a", 33), "pi:x"} {
		if checkUserName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
