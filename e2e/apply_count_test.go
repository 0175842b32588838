package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// A first apply of 10 or of 200 file tasks, in a folder a directory task
// makes, costs the host the same probe round trips and processes: the
// survey, one to check the files again once the folder is there, and one
// that re-checks every changed task at the end (not one per changed
// task, nor a probe of every later task after each change).
func TestFirstApplyRoundTripsAreConstant(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	counts := map[int]string{}
	for _, n := range []int{10, 200} {
		var body strings.Builder
		fmt.Fprintf(&body, "task \"directory\" \"d\" {\n  path = \"/srv/first%d\"\n}\n", n)
		for i := range n {
			fmt.Fprintf(&body, "task \"file\" \"f%d\" {\n  path    = \"/srv/first%d/f%d.conf\"\n  content = \"setting %d\\n\"\n}\n", i, n, i, i)
		}
		dir := planFor(t, h, body.String())
		apply := hako(t, "apply", "-v", dir)
		if apply.code != 0 || !strings.Contains(apply.stdout, fmt.Sprintf("ok=0 changed=%d failed=0", n+1)) {
			t.Fatalf("first apply of %d files: %v", n, apply)
		}
		if got := h.Exec(t, fmt.Sprintf("cat /srv/first%d/f%d.conf", n, n-1)); got != fmt.Sprintf("setting %d\n", n-1) {
			t.Fatalf("the last file holds %q", got)
		}
		counts[n] = probeCount(t, apply)
		t.Logf("first apply of %d file tasks: %s", n, counts[n])
		if !strings.HasPrefix(counts[n], "3 round trips,") {
			t.Errorf("first apply of %d file tasks: %s; want 3 round trips", n, counts[n])
		}
		again := hako(t, "apply", "-v", dir)
		if again.code != 0 || !strings.Contains(again.stdout, fmt.Sprintf("ok=%d changed=0 failed=0", n+1)) ||
			!strings.HasPrefix(probeCount(t, again), "1 round trip,") {
			t.Errorf("second apply of %d files: %v", n, again)
		}
	}
	if counts[10] != counts[200] {
		t.Errorf("a first apply's probes grow with the plan: 10 file tasks %q, 200 file tasks %q", counts[10], counts[200])
	}
}

// Later tasks are checked against what earlier changes made, on a real
// host: a file in a folder that a package installs, a file a command
// wrote (as planned: unchanged), the same file twice; a task that does
// not converge still fails as not idempotent, the run exits 1 and skips
// what follows it.
func TestApplyChecksLaterTasksAfterChanges(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.LocalAptRepo(t, "hako-demo-pkg")
	dir := planFor(t, h, `
task "package" "demo" {
  names = ["hako-demo-pkg"]
}
task "file" "in_package_folder" {
  path    = "/usr/share/doc/hako-demo-pkg/extra"
  content = "extra\n"
}
task "command" "make" {
  command = "printf 'made\\n' >/srv/made"
  creates = "/srv/made"
}
task "file" "made" {
  path    = "/srv/made"
  content = "made\n"
}
task "file" "twice_a" {
  path    = "/srv/twice"
  content = "1\n"
}
task "file" "twice_b" {
  path    = "/srv/twice"
  content = "1\n"
}
`)
	apply := hako(t, "apply", "-v", dir)
	if apply.code != 0 {
		t.Fatalf("apply: %v", apply)
	}
	mustContain(t, apply, "changed  package.demo", "changed  file.in_package_folder", "changed  command.make",
		"changed  file.twice_a", "pi  ok=2 changed=4 failed=0")
	if got := h.Exec(t, "cat /usr/share/doc/hako-demo-pkg/extra /srv/made /srv/twice"); got != "extra\nmade\n1\n" {
		t.Errorf("the host holds %q", got)
	}
	t.Log(probeCount(t, apply))

	liar := planFor(t, h, `
task "file" "first" {
  path    = "/srv/liar-first"
  content = "1\n"
}
task "command" "liar" {
  command = "true"
  creates = "/srv/never"
}
task "file" "later" {
  path    = "/srv/liar-later"
  content = "2\n"
}
`)
	r := hako(t, "apply", liar)
	if r.code != 1 || !regexp.MustCompile(`command\.liar.*not idempotent`).MatchString(r.stdout+r.stderr) {
		t.Fatalf("want the liar to fail as not idempotent, exit 1: %v", r)
	}
	mustContain(t, r, "pi  ok=0 changed=1 failed=1")
	if got := h.Exec(t, "test -e /srv/liar-later && echo ran || echo skipped"); got != "skipped\n" {
		t.Errorf("the task after the failed one: %s", got)
	}
}
