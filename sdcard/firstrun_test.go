package sdcard

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The header firstRunHeader writes sets NEW_USER and KEY to exactly the
// values given, whatever they hold: quotes, command substitutions,
// backslashes, variables and globs run nothing and lose nothing, in every
// shell at hand. Prepare and LoadPublicKey never let such values through;
// this is what holds if they did. No header line can be cut by
// imager_fixup, even with a value that ends in "firstrun.sh".
func TestFirstRunHeaderKeepsValuesExact(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	cut := regexp.MustCompile(`rm.*firstrun\.sh$`)
	cases := []struct{ user, key string }{
		{"alice", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs alice@laptop"},
		{`o'brien`, `ssh-ed25519 AAAA it's "me" \ \\ \' \n $HOME ${HOME} $(touch ` + pwned + `) ` + "`touch " + pwned + "`" + ` * ; & | < > #`},
		{`'`, `'`},
		{`''\`, `\`},
		{"", ""},
		{"a b\tc", "ssh-rsa AAAA x; rm -f /boot/firstrun.sh"},
		{"$(id)", "ssh-rsa AAAA rm.firstrun.sh'"},
	}
	shells := 0
	for _, shell := range []string{"sh", "dash", "bash"} {
		path, err := exec.LookPath(shell)
		if err != nil {
			continue
		}
		shells++
		for _, c := range cases {
			h, err := firstRunHeader(c.user, c.key)
			if err != nil {
				t.Fatalf("%q %q: %v", c.user, c.key, err)
			}
			if !isOurs([]byte(h)) {
				t.Errorf("%q: the marker is not on the second line:\n%s", c.key, h)
			}
			for i, l := range strings.Split(h, "\n") {
				if cut.MatchString(l) {
					t.Errorf("header line %d %q would be cut by imager_fixup", i+1, l)
				}
			}
			script := filepath.Join(dir, "header.sh")
			write(t, dir, "header.sh", h+`printf '%s' "$NEW_USER" >"$1/user"; printf '%s' "$KEY" >"$1/key"`+"\n")
			if out, err := exec.Command(path, script, dir).CombinedOutput(); err != nil {
				t.Fatalf("%s, %q %q: %v\n%s", shell, c.user, c.key, err, out)
			}
			if got := readFile(t, filepath.Join(dir, "user")); got != c.user {
				t.Errorf("%s: NEW_USER is %q, want %q", shell, got, c.user)
			}
			if got := readFile(t, filepath.Join(dir, "key")); got != c.key {
				t.Errorf("%s: KEY is %q, want %q", shell, got, c.key)
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatalf("%s ran a command from a value: %q", shell, c.key)
			}
		}
	}
	if shells == 0 {
		t.Skip("no sh, dash or bash to run the header")
	}
}

// A line break in a value is refused: quoted, it would be correct shell,
// but its second line is one imager_fixup reads on its own.
func TestFirstRunHeaderRefusesLineBreaks(t *testing.T) {
	for _, c := range []struct{ user, key string }{
		{"alice", "ssh-ed25519 AAAA x\nrm -f /boot/firstrun.sh"},
		{"alice\n", "ssh-ed25519 AAAA"},
		{"alice", "ssh-ed25519 AAAA x\r"},
	} {
		if h, err := firstRunHeader(c.user, c.key); err == nil {
			t.Errorf("%q %q: no error, header:\n%s", c.user, c.key, h)
		}
	}
}
