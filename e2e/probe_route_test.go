package e2e

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/figures"
	"github.com/hako-dev/hako/internal/testhost"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
)

// A file task's path runs through a root symlink into a user's home:
// /srv/conf is root's link to /home/mallory/conf, a root 0755 folder in
// her home. Every folder the path names is root's, but the folder the
// link leads through is hers, so she can swap conf between root's folder
// (a regular app.conf) and one of hers whose app.conf is a link to
// /etc/hako-victim. The read probe must not read as root there: the
// victim's line must never show in what the probe brought back.
func TestProbeReadThroughLinkIntoUserFolder(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	ctx := t.Context()
	c := dialBecome(t, h)
	// The racer waits for root's folder, then puts it aside as r.
	raceUser(t, h, `if [ ! -d b ]; then [ -f conf/app.conf ] || continue; mkdir b; ln -s /etc/hako-victim b/app.conf; mv -T conf r; fi
mv -T r conf; mv -T conf r; mv -T b conf && echo x >>/tmp/hako-race-hits; mv -T conf b`)
	h.Exec(t, `set -e
install -d -m 0755 /srv /home/mallory/conf
printf 'app setting\n' >/home/mallory/conf/app.conf
ln -s /home/mallory/conf /srv/conf`)

	const n = 300
	wins, seen := 0, 0
	for range n {
		st, err := tasks.Gather(ctx, c, []tasks.Probe{probe.File{Path: "/srv/conf/app.conf"}})
		if err != nil {
			t.Fatal(err)
		}
		got := st.Content("/srv/conf/app.conf")
		if strings.Contains(string(got.Data), "root secret") {
			wins++
		}
		if strings.Contains(string(got.Data), "app setting") {
			seen++
		}
	}
	hits := raceHits(t, h)
	figures.Record(t, "probe read race: %d attempts, %d swaps by the racer, %d reads of root's folder, %d reads of the victim", n, hits, seen, wins)
	if wins != 0 {
		t.Errorf("the probe read root's victim through mallory's folder in %d of %d attempts", wins, n)
	}
	if hits == 0 {
		t.Errorf("the racer never swapped: the test proves nothing")
	}
}
