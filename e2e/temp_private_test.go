package e2e

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/figures"
	"github.com/hako-dev/hako/internal/testhost"
)

// The temp file of a write is nobody's but root's from its creation to
// its rename: the user eve watches a root folder others may read and
// tries to open every hako temp file she sees there while hako writes a
// private file, N times. She must never open one, and every temp file she
// sees must be mode 600, also before hako has done anything but create it
// (the sftp-server hako starts through sudo creates files 0600 itself;
// hako sets 0600 on the handle before any content all the same, for a
// server whose umask it does not know or a folder whose default ACL
// overrides the umask).
func TestTempFileIsPrivateWhileWritten(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	ctx := t.Context()
	c := dialBecome(t, h)
	h.Exec(t, `set -e
useradd -M -s /bin/sh eve
mkdir -m 0755 /srv/watch
: >/tmp/eve-seen && chmod 0666 /tmp/eve-seen
: >/tmp/eve-opened && chmod 0666 /tmp/eve-opened`)
	h.Exec(t, "cd /tmp && setsid setpriv --reuid=eve --regid=eve --init-groups -- sh -c "+
		hosts.Quote(`while [ ! -e /tmp/eve-stop ]; do
  for f in /srv/watch/.secret.hako-*; do
    [ -e "$f" ] || continue
    m=$(stat -c %a "$f" 2>/dev/null) && echo "$m" >>/tmp/eve-seen
    head -c 1 "$f" >/dev/null 2>&1 && echo "$f" >>/tmp/eve-opened
  done
done`)+" </dev/null >/dev/null 2>&1 &")
	t.Cleanup(func() { h.Exec(t, "touch /tmp/eve-stop") })

	const n = 40
	content := bytes.Repeat([]byte("secret line\n"), 1<<17) // 1.5 MiB: many write requests
	for i := range n {
		if err := c.WriteFile(ctx, hosts.FileWrite{Path: "/srv/watch/secret", Content: content, Mode: 0o600, Owner: "root", Group: "root"}); err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
	}
	h.Exec(t, "touch /tmp/eve-stop; sleep 0.5")
	seen := strings.Fields(h.Exec(t, "cat /tmp/eve-seen"))
	opened := strings.Fields(h.Exec(t, "cat /tmp/eve-opened"))
	modes := map[string]int{}
	for _, m := range seen {
		modes[m]++
	}
	figures.Record(t, "temp file privacy: %d writes of 1.5 MiB, eve saw a temp file %d times (modes %v), opened %d", n, len(seen), modes, len(opened))
	if len(opened) != 0 {
		t.Errorf("eve opened %d temp files: %v", len(opened), opened)
	}
	for m, k := range modes {
		if m != "600" {
			t.Errorf("eve saw a temp file of mode %s %d times", m, k)
		}
	}
	if len(seen) == 0 {
		t.Errorf("eve never saw a temp file: the test proves nothing")
	}
	if got := h.Exec(t, "stat -c '%U %G %a' /srv/watch/secret; ls -A /srv/watch"); got != "root root 600\nsecret\n" {
		t.Errorf("after the writes: %q", got)
	}
}
