package testhost

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// SudoAsksPassword makes the host's sudo ask its User for a password, as
// Debian's and Ubuntu's installers leave it: User's NOPASSWD rule
// (/etc/sudoers.d/010_pi-nopasswd, also when User is not pi) goes, User
// stays in group sudo (whose rule asks for the user's password), and
// User's password becomes password. The password reaches chpasswd on its
// standard input, never on a command line inside the host.
func (h *Host) SudoAsksPassword(t testing.TB, password string) {
	t.Helper()
	if strings.ContainsAny(password, "\n:") {
		t.Fatalf("testhost: a password for chpasswd cannot hold a newline or a colon")
	}
	c := exec.Command(mustScript(t), "exec", h.Name, "/bin/sh", "-c",
		`set -e; rm -f /etc/sudoers.d/010_pi-nopasswd; id -nG "$1" | grep -qw sudo; chpasswd; ! su "$1" -s /bin/sh -c 'sudo -k -n true' 2>/dev/null`,
		"sudo-asks-password", h.User)
	c.Stdin = strings.NewReader(h.User + ":" + password + "\n")
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	c.WaitDelay = 5 * time.Second
	if err := c.Run(); err != nil {
		t.Fatalf("testhost: making sudo ask for a password on %s: %v\n%s", h.Name, err, out.String())
	}
}
