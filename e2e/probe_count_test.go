package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// probeCount reads the -v line "probe: N round trip(s), M processes on
// the host" of a run.
func probeCount(t *testing.T, r result) string {
	t.Helper()
	m := regexp.MustCompile(`probe: (\d+ round trips?, \d+ processes on the host)`).FindAllStringSubmatch(r.stdout+r.stderr, -1)
	if len(m) != 1 {
		t.Fatalf("want one probe count line: %v", r)
	}
	return m[0][1]
}

// A no-op plan and apply of 10 or 200 file tasks, each in its own folder,
// probe the host in one round trip that starts as many processes there
// whatever the number of tasks: one stat, one namei, one sha256sum for
// all, and no read of a file that is as planned.
func TestProbeCountIsConstant(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	counts := map[int][]string{}
	for _, n := range []int{10, 200} {
		var body strings.Builder
		for i := range n {
			fmt.Fprintf(&body, "task \"file\" \"f%d\" {\n  path    = \"/srv/count%d/d%d/f.conf\"\n  content = \"setting %d\\n\"\n}\n", i, n, i, i)
		}
		dir := planFor(t, h, body.String())
		// The host holds the files already (as the plan has them), so
		// that the runs below are no-ops without 200 writes first.
		h.Exec(t, fmt.Sprintf("for i in $(seq 0 %d); do mkdir -p /srv/count%d/d$i; printf 'setting %%d\\n' $i >/srv/count%d/d$i/f.conf; done", n-1, n, n))
		plan := hako(t, "plan", "-v", dir)
		if plan.code != 0 || !strings.Contains(plan.stdout, fmt.Sprintf("0 to change, %d unchanged", n)) {
			t.Fatalf("plan of %d files: %v", n, plan)
		}
		apply := hako(t, "apply", "-v", dir)
		if apply.code != 0 {
			t.Fatalf("apply of %d files: %v", n, apply)
		}
		counts[n] = []string{probeCount(t, plan), probeCount(t, apply)}
		t.Logf("%d file tasks: plan %s; apply %s", n, counts[n][0], counts[n][1])
		if !strings.HasPrefix(counts[n][0], "1 round trip,") || counts[n][0] != counts[n][1] {
			t.Errorf("%d file tasks: plan %q, apply %q; want one round trip each, the same", n, counts[n][0], counts[n][1])
		}
	}
	if counts[10][0] != counts[200][0] {
		t.Errorf("the probe grows with the plan: 10 file tasks %q, 200 file tasks %q", counts[10][0], counts[200][0])
	}
}

// The no-op apply of examples/quickstart (a folder, two files, one of
// them secret, a guarded command; preflight's checks of the login user,
// sshd's and sudo's configuration) probes the host in one round trip
// that starts at most quickstartProbeProcesses processes there. On a lite
// host (no systemd): the architecture (uname), the four configuration
// files (one base64 each), the login user's account (getent, id twice,
// one stat for ~/.ssh and authorized_keys, their read as the user, read
// once though the checks ask for it by name and as the login user), one
// stat and one sha256sum for the plan's paths and files, one namei for
// their folders (asked by the reads and the leftover checks), the secret
// file's read (its size and its content: its hash is not sent), the
// subshell that looks for leftovers and the read of the last PID.
const quickstartProbeProcesses = 20

func TestProbeCountQuickstart(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	kh := h.KnownHostsFile(t)
	if r := hako(t, append([]string{"apply"}, quickstart(h, kh)...)...); r.code != 0 {
		t.Fatalf("first apply: %v", r)
	}
	for _, cmd := range []string{"plan", "apply"} {
		r := hako(t, append([]string{cmd, "-v"}, quickstart(h, kh)...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "0 to change") && cmd == "plan" {
			t.Fatalf("no-op %s: %v", cmd, r)
		}
		got := probeCount(t, r)
		var n int
		if _, err := fmt.Sscanf(got, "1 round trip, %d processes on the host", &n); err != nil {
			t.Fatalf("no-op %s: %q: %v", cmd, got, err)
		}
		t.Logf("no-op %s of examples/quickstart: %s", cmd, got)
		if n > quickstartProbeProcesses {
			t.Errorf("no-op %s of examples/quickstart: %d processes on the host, want at most %d", cmd, n, quickstartProbeProcesses)
		}
	}
}

// The no-op apply of examples/pi-home-server (packages, the firewall,
// services, a dozen files) probes the host in one round trip, its facts
// with the rest (the plan's tasks read them), that starts at most
// piHomeProbeProcesses processes there. ufw's state is read from
// its files, with one iptables -S and one ip6tables -S for what the
// kernel holds: `ufw status verbose` alone started a Python process and
// eleven more (iptables for each chain, sysctl, iptables -V) on every
// run.
func TestProbeCountPiHome(t *testing.T) {
	h, run := piHome(t)
	if r := run("apply"); r.code != 0 {
		t.Fatalf("first apply:\n%s", r)
	}
	var runs, floor []time.Duration
	for range 5 {
		start := time.Now()
		if _, code := h.SSH(t, "true"); code != 0 {
			t.Fatal("ssh true failed")
		}
		floor = append(floor, time.Since(start))
		r := run("apply", "-v")
		if r.code != 0 || !strings.Contains(r.stdout, " changed=0 failed=0") {
			t.Fatalf("no-op apply:\n%s", r)
		}
		runs = append(runs, r.elapsed)
		got := probeCount(t, r)
		m := regexp.MustCompile(`^1 round trip, (\d+) processes`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("no-op apply: %q", got)
		}
		n, _ := strconv.Atoi(m[1])
		t.Logf("no-op apply of examples/pi-home-server: %s, %v", got, r.elapsed.Round(time.Millisecond))
		if n > piHomeProbeProcesses {
			t.Errorf("no-op apply of examples/pi-home-server: %d processes on the host, want at most %d", n, piHomeProbeProcesses)
		}
	}
	slices.Sort(runs)
	slices.Sort(floor)
	t.Logf("median no-op apply %v, ssh true %v (figures, not asserted)", runs[2].Round(time.Millisecond), floor[2].Round(time.Millisecond))
}

// piHomeProbeProcesses bounds the probe of a no-op apply of
// examples/pi-home-server on a systemd host: 44 processes there (the six
// files read whole take one stat for their sizes and a base64 each),
// where `ufw status verbose` made it 58.
const piHomeProbeProcesses = 44
