package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/figures"
	"github.com/hako-dev/hako/internal/testhost"
)

// An unprivileged user on the host races hako's work in a folder they own,
// trying to make root act on a link to a file or folder of root's. Each
// test runs N attempts and counts the ones where root's victim changed;
// there must be none. The racer's own count of swaps shows it really
// hit hako's temp files or folders while hako worked.

// raceUser makes the unprivileged user mallory with a home of her own, the
// victims, and starts her racer (script, run as mallory in her home until
// /tmp/hako-race-stop exists), which appends a line to /tmp/hako-race-hits
// for each swap it made.
func raceUser(t *testing.T, h *testhost.Host, script string) {
	t.Helper()
	h.Exec(t, `set -e
useradd -m -s /bin/sh mallory
chmod 0755 /home/mallory
printf 'root secret\n' >/etc/hako-victim && chmod 0600 /etc/hako-victim
mkdir -m 0755 /etc/hako-victim-dir
: >/tmp/hako-race-hits && chmod 0666 /tmp/hako-race-hits`)
	// Started in the background inside the host: it ends with the host,
	// or when the stop file appears.
	h.Exec(t, "cd /home/mallory && setsid setpriv --reuid=mallory --regid=mallory --init-groups -- sh -c "+
		hosts.Quote("while [ ! -e /tmp/hako-race-stop ]; do\n"+script+"\ndone")+" </dev/null >/dev/null 2>&1 &")
	t.Cleanup(func() { h.Exec(t, "touch /tmp/hako-race-stop") })
}

// victimState is root's victims as the host sees them: owner and mode of
// the file and the folder, whether the folder gained entries, and the
// file's content.
func victimState(ctx context.Context, t *testing.T, c hosts.Host) string {
	t.Helper()
	res, err := c.Run(ctx, `stat -c '%U %a' /etc/hako-victim /etc/hako-victim-dir; ls -A /etc/hako-victim-dir; cat /etc/hako-victim`)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("victim state: %v, exit %d: %s", err, res.ExitCode, res.Stderr)
	}
	return string(res.Stdout)
}

const victimsIntact = "root 600\nroot 755\nroot secret\n"

func restoreVictims(t *testing.T, h *testhost.Host) {
	h.Exec(t, "chown root:root /etc/hako-victim /etc/hako-victim-dir && chmod 0600 /etc/hako-victim && chmod 0755 /etc/hako-victim-dir && rm -rf /etc/hako-victim-dir/* /etc/hako-victim-dir/.[!.]* && printf 'root secret\\n' >/etc/hako-victim")
}

// dialBecome connects to h as its user with become, as hako does, closed
// when the test ends.
func dialBecome(t *testing.T, h *testhost.Host) *hosts.SSHHost {
	t.Helper()
	c, err := hosts.Dial(t.Context(), hosts.Config{Name: "pi", Address: h.Addr, Port: h.Port, User: h.User,
		IdentityFiles: []string{h.KeyFile}, KnownHostsFile: h.KnownHostsFile(t), Become: true,
		ConnectTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func raceHits(t *testing.T, h *testhost.Host) int {
	return strings.Count(h.Exec(t, "cat /tmp/hako-race-hits"), "\n")
}

// A file for mallory in her home, rewritten N times while she swaps every
// hako temp file she sees for a link to /etc/hako-victim (a root 0600
// file). A chown by path as root would follow her link and give her the
// victim; owner and mode must be set on the open handle.
func TestSymlinkRaceFileWrite(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	ctx := t.Context()
	c := dialBecome(t, h)
	raceUser(t, h, `for f in .notes.hako-*; do
  case $f in *.x) continue ;; esac
  [ -e "$f" ] || continue
  ln -s /etc/hako-victim "$f.x" 2>/dev/null && mv -fT "$f.x" "$f" 2>/dev/null && echo "$f" >>/tmp/hako-race-hits
done`)

	const n = 60
	wins, failed := 0, 0
	for i := range n {
		err := c.WriteFile(ctx, hosts.FileWrite{Path: "/home/mallory/notes", Content: fmt.Appendf(nil, "notes %d\n", i),
			Mode: 0o600, Owner: "mallory", Group: "mallory"})
		if err != nil {
			failed++ // her own swap may break her own file's write; that is no gain
		}
		if got := victimState(ctx, t, c); got != victimsIntact {
			wins++
			t.Logf("attempt %d: the victims changed:\n%s", i+1, got)
			restoreVictims(t, h)
		}
	}
	hits := raceHits(t, h)
	figures.Record(t, "file write race: %d attempts, %d temp files swapped by the racer, %d writes failed, %d successes for the racer", n, hits, failed, wins)
	if wins != 0 {
		t.Errorf("the racer won %d of %d attempts", wins, n)
	}
	if hits == 0 {
		t.Errorf("the racer never swapped a temp file: the test proves nothing")
	}
	// With nobody racing, the file ends as planned: mallory's, 0600, the content.
	h.Exec(t, "touch /tmp/hako-race-stop; sleep 0.5")
	if err := c.WriteFile(ctx, hosts.FileWrite{Path: "/home/mallory/notes", Content: []byte("final\n"), Mode: 0o600, Owner: "mallory", Group: "mallory"}); err != nil {
		t.Fatal(err)
	}
	if got := h.Exec(t, "stat -c '%U %G %a %F' /home/mallory/notes; cat /home/mallory/notes"); got != "mallory mallory 600 regular file\nfinal\n" {
		t.Errorf("final file: %q", got)
	}
}

// A user task whose ~/.ssh mallory made group-writable (so hako fixes it)
// and a directory task for a folder in her home, while she flips that
// folder between itself and a link to /etc/hako-victim-dir. Root's
// `install -d -o` or chown/chmod by path would follow the link and give
// her the victim folder, and authorized_keys could land in it.
func TestSymlinkRaceUserAndDirectory(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	k := testhost.NewKeyPair(t, t.TempDir(), "mallory@test")
	for _, tc := range []struct {
		name, folder, trigger, task string
	}{
		{"user-ssh-dir", ".ssh", "chmod 0775 /home/mallory/.ssh", fmt.Sprintf(`
task "user" "mallory" {
  name            = "mallory"
  authorized_keys = [%q]
}
`, k.Public)},
		{"directory", "www", "chmod 0700 /home/mallory/www", `
task "directory" "www" {
  path  = "/home/mallory/www"
  owner = "mallory"
  mode  = "0777"
}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "user-ssh-dir" {
				h.Exec(t, "touch /tmp/hako-race-stop; sleep 0.5; userdel -r mallory 2>/dev/null; rm -rf /etc/hako-victim /etc/hako-victim-dir /tmp/hako-race-stop /tmp/hako-race-hits")
			}
			raceUser(t, h, fmt.Sprintf(`[ -d %[1]s ] || mkdir -m 0700 %[1]s
mv -T %[1]s %[1]s.real 2>/dev/null && ln -s /etc/hako-victim-dir %[1]s && echo flip >>/tmp/hako-race-hits
sleep 0.05
rm -f %[1]s && mv -T %[1]s.real %[1]s
sleep 0.05`, tc.folder))
			dir := planFor(t, h, tc.task)
			const n = 12
			wins, applied := 0, 0
			for i := range n {
				h.Exec(t, "setpriv --reuid=mallory --regid=mallory --init-groups -- sh -c "+hosts.Quote(
					"for i in 1 2 3 4 5 6 7 8 9 10; do [ -d /home/mallory/"+tc.folder+" ] && [ ! -L /home/mallory/"+tc.folder+" ] && "+tc.trigger+" && break; sleep 0.02; done; true"))
				r := hako(t, "apply", dir)
				if strings.Contains(r.stdout, "changed  ") {
					applied++
				}
				for _, l := range strings.Split(r.stdout+r.stderr, "\n") {
					if strings.Contains(l, "error") || strings.Contains(l, "failed ") || strings.Contains(l, "refus") {
						t.Logf("attempt %d: %s", i+1, strings.TrimSpace(l))
					}
				}
				got := h.Exec(t, "stat -c '%U %a' /etc/hako-victim /etc/hako-victim-dir; ls -A /etc/hako-victim-dir; cat /etc/hako-victim")
				if got != victimsIntact {
					wins++
					t.Logf("attempt %d: the victims changed:\n%s\n%s", i+1, got, r)
					restoreVictims(t, h)
				}
			}
			hits := raceHits(t, h)
			figures.Record(t, "%s race: %d attempts (%d applied a change), %d flips by the racer, %d successes for the racer", tc.name, n, applied, hits, wins)
			if wins != 0 {
				t.Errorf("the racer won %d of %d attempts", wins, n)
			}
			if hits == 0 {
				t.Errorf("the racer never flipped the folder: the test proves nothing")
			}
		})
	}
}

// A file for root in a user's home is refused before anything is written,
// naming the host, the task and the folder; the same file for the user is
// written as the user.
func TestRootFileInUserFolderIsRefused(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, "useradd -m -s /bin/sh bob && chmod 0755 /home/bob")
	uid := strings.TrimSpace(h.Exec(t, "id -u bob"))
	dir := planFor(t, h, `
task "file" "profile" {
  path    = "/home/bob/.profile-hako"
  content = "export EDITOR=vi\n"
  owner   = "root"
}
`)
	r := hako(t, "apply", dir)
	if r.code == 0 {
		t.Fatalf("apply succeeded:\n%s", r)
	}
	mustContain(t, r, "file.profile", "refusing to work in /home/bob: it belongs to uid "+uid+", who could swap what is in it for a link")
	if got := h.Exec(t, "ls -A /home/bob"); strings.Contains(got, "hako") {
		t.Errorf("left in bob's home: %q", got)
	}
	dir = planFor(t, h, `
task "file" "profile" {
  path    = "/home/bob/.profile-hako"
  content = "export EDITOR=vi\n"
  owner   = "bob"
  mode    = "0640"
}
`)
	if r := hako(t, "apply", dir); r.code != 0 {
		t.Fatalf("apply for bob failed:\n%s", r)
	}
	if got := h.Exec(t, "stat -c '%U %G %a' /home/bob/.profile-hako; ls -A /home/bob | grep -c hako"); got != "bob bob 640\n1\n" {
		t.Errorf("bob's file: %q", got)
	}
	mustContain(t, hako(t, "apply", dir), "pi  ok=1 changed=0 failed=0")
}
