package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// A sensitive value in a command task stays out of the host's own logs:
// sudo logs every command line it runs to the journal, so hako's scripts
// travel on standard input and the logged line is always the same.
func TestSensitiveCommandNotInHostJournal(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	dir := planFor(t, h, `
variable "token" {
  type      = string
  sensitive = true
}

task "command" "use_token" {
  command = "printf '%s' '${var.token}' | sha256sum >/root/token.sum"
  creates = "/root/token.sum"
}
`)
	r := hako(t, "apply", "-var", "token="+token, dir)
	if r.code != 0 {
		t.Fatalf("apply failed:\n%s", r)
	}
	mustContain(t, r, "changed  command.use_token")
	if got := h.Exec(t, "cut -c1-16 /root/token.sum"); got != sha256Prefix(token)+"\n" {
		t.Fatalf("the command did not run with the token: %q", got)
	}

	// Not vacuous: sudo did log hako's commands (journald takes a moment),
	// all with the same fixed line.
	const logged = `COMMAND=/usr/bin/env HAKO_RUN=`
	journal := h.Exec(t, "journalctl --no-pager -o cat")
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(journal, logged) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		journal = h.Exec(t, "journalctl --no-pager -o cat")
	}
	if !strings.Contains(journal, logged) || !strings.Contains(journal, `; done; eval "$(cat)"'`) {
		t.Fatalf("no sudo command lines from hako in the journal:\n%s", lastLines(journal, 40))
	}
	// Every line sudo logged for hako has the shape the README gives (the
	// first command of a connection prints a marker first: see hosts'
	// becomeState; then the check of the rollback guard's mark for the
	// connection: see hosts' guardCheck).
	shape := regexp.MustCompile(`^COMMAND=(/usr/bin/true|/usr/bin/env HAKO_RUN=[0-9a-f]{32} HAKO_CONN=([0-9a-f]{32}) 'HAKO_SSH_CONNECTION=[0-9.]+ [0-9]+ [0-9.]+ [0-9]+' timeout -k 10s 3600\.000s sh -c '(echo hako-sudo-ran && )?` +
		`for hako_g in /var/lib/hako/guard/\*/rolledback-conn\.([0-9a-f]{32}); do \[ ! -e "\$hako_g" \] \|\| \{ echo "hako: a guard on this host rolled back the changes of this connection: nothing more is done over it" >&2; exit 86; \}; done; ` +
		`eval "\$\(cat\)"')$`)
	for _, l := range strings.Split(journal, "\n") {
		if _, cmd, ok := strings.Cut(l, "pi : PWD=/home/pi ; USER=root ; "); ok {
			// The mark checked is the connection's own.
			if m := shape.FindStringSubmatch(cmd); m == nil || m[2] != m[4] {
				t.Errorf("sudo logged %q", cmd)
			}
		}
	}
	if strings.Contains(journal, token) {
		t.Errorf("the token is in the host's journal:\n%s", lastLines(journal, 40))
	}
	if strings.Contains(journal, "sha256sum") {
		t.Errorf("a script's text is in the host's journal:\n%s", lastLines(journal, 40))
	}
}

func sha256Prefix(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
