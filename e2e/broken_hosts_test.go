package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/figures"
	"github.com/hako-dev/hako/internal/testhost"
)

// Ten real hosts in one plan, four of them broken in the ways a fleet of
// Pis breaks: one powered off or unplugged (its link is down: nothing
// answers for its address), one whose sshd is not running (connection
// refused), one reflashed (known_hosts holds another key for it) and one
// whose sudo refuses to run anything (a world-writable /etc/sudoers). The
// six others converge in the same run; the closing lines name each broken
// host with its reason, the broken hosts are left as they were, and the
// exit status is 1.
func TestManyHostsSomeBroken(t *testing.T) {
	testhost.Require(t)
	const n = 10
	broken := map[string]struct {
		breakIt func(t *testing.T, h *testhost.Host, kh string, other *testhost.Host)
		reason  *regexp.Regexp // what the closing lines must say of it
	}{
		"h02": {
			breakIt: func(t *testing.T, h *testhost.Host, _ string, _ *testhost.Host) {
				// The host's address stays reserved (another test's host
				// cannot take it), but nothing answers for it any more.
				h.Exec(t, "ip link set eth0 down")
			},
			reason: regexp.MustCompile(`unreachable \(host down|timed out after .* \(host down`),
		},
		"h05": {
			breakIt: func(t *testing.T, h *testhost.Host, _ string, _ *testhost.Host) {
				h.Exec(t, "/etc/init.d/ssh stop >/dev/null; for i in $(seq 50); do pgrep -x sshd >/dev/null || exit 0; sleep 0.1; done; exit 1")
			},
			reason: regexp.MustCompile(`(?i)connection refused`),
		},
		"h07": {
			breakIt: func(t *testing.T, h *testhost.Host, kh string, other *testhost.Host) {
				// known_hosts holds another host's key for this address: what
				// a reflashed card (or a man in the middle) looks like.
				writeFile(t, kh, strings.Replace(readFile(t, other.KnownHostsFile(t)), other.Addr, h.Addr, 1))
			},
			reason: regexp.MustCompile(`(?i)host key.*(changed|mismatch|does not match)|(changed|mismatch).*host key`),
		},
		"h09": {
			breakIt: func(t *testing.T, h *testhost.Host, _ string, _ *testhost.Host) {
				h.Exec(t, "chmod 0666 /etc/sudoers")
			},
			reason: regexp.MustCompile(`(?s)sudo.*world writable`),
		},
	}

	hs := make([]*testhost.Host, n)
	names := make([]string, n)
	khs := make([]string, n)
	var blocks strings.Builder
	for i := range n {
		hs[i] = testhost.Start(t, testhost.Options{})
		names[i] = fmt.Sprintf("h%02d", i+1)
		// Each host its own known_hosts, so that one can hold a wrong key.
		khs[i] = filepath.Join(t.TempDir(), "known_hosts")
		writeFile(t, khs[i], readFile(t, hs[i].KnownHostsFile(t)))
		fmt.Fprintf(&blocks, `
host %q {
  address       = %q
  port          = %d
  user          = %q
  identity_file = %q
  known_hosts   = %q
  become        = true
}
`, names[i], hs[i].Addr, hs[i].Port, hs[i].User, hs[i].KeyFile, khs[i])
	}
	for i, name := range names {
		if b, ok := broken[name]; ok {
			b.breakIt(t, hs[i], khs[i], hs[(i+1)%n])
		}
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), blocks.String()+`
task "directory" "app" {
  path = "/opt/fleet"
}
task "file" "conf" {
  path    = "/opt/fleet/app.conf"
  content = "name = ${host.name}\n"
  mode    = "0640"
  notify  = ["stamp"]
}
task "command" "init" {
  command = "echo ${host.name} >/opt/fleet/.initialised"
  creates = "/opt/fleet/.initialised"
}
handler "stamp" {
  command = "touch /opt/fleet/stamp"
}
`)

	r := hako(t, "apply", dir)
	out := r.stdout + r.stderr
	wrongExit := 0
	if r.code != 1 {
		wrongExit = 1
		t.Errorf("apply: want exit 1\n%s", r)
	}
	recap := recapLines(out)
	converged := map[string]bool{} // files right after the first apply, nothing to change in the second
	named, unchanged := 0, 0
	for i, name := range names {
		h := hs[i]
		b, isBroken := broken[name]
		if !isBroken {
			got := h.Exec(t, "stat -c '%a %U' /opt/fleet/app.conf; cat /opt/fleet/app.conf /opt/fleet/.initialised; ls /opt/fleet/stamp")
			switch want := "640 root\nname = " + name + "\n" + name + "\n/opt/fleet/stamp\n"; {
			case recap[name] != "ok=0 changed=4 failed=0 skipped=0":
				t.Errorf("host %s: recap %q, want changed=4 (3 tasks and the handler)\n%s", name, recap[name], r)
			case got != want:
				t.Errorf("host %s: /opt/fleet holds %q, want %q", name, got, want)
			default:
				converged[name] = true
			}
			continue
		}
		// The reason is on an error line that names the host, and its
		// recap counts a failure.
		why := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "error:") && (strings.Contains(l, `host "`+name+`"`) || strings.Contains(l, "host "+name+":")) {
				why = l
			}
		}
		switch {
		case why == "":
			t.Errorf("host %s: no error line names it\n%s", name, r)
		case !b.reason.MatchString(why):
			t.Errorf("host %s: the reason %q does not match %v", name, why, b.reason)
		default:
			named++
		}
		if got := recap[name]; !strings.Contains(got, "failed=1") {
			t.Errorf("host %s: recap %q does not count it failed", name, got)
		}
		// Harness Exec reaches even the host whose link is down.
		if got := h.Exec(t, "ls /opt/fleet 2>&1 || true"); !strings.Contains(got, "No such file") {
			t.Errorf("broken host %s was changed: %s", name, got)
		} else {
			unchanged++
		}
	}
	took := r.elapsed

	// Again: the sound hosts are converged (ok, nothing changed), the broken
	// ones fail the same way.
	r = hako(t, "apply", dir)
	if r.code != 1 {
		wrongExit++
		t.Errorf("second apply: want exit 1\n%s", r)
	}
	recap = recapLines(r.stdout + r.stderr)
	for _, name := range names {
		if _, isBroken := broken[name]; !isBroken && recap[name] != "ok=3 changed=0 failed=0 skipped=0" {
			delete(converged, name)
			t.Errorf("second apply, host %s: recap %q, want ok=3 changed=0\n%s", name, recap[name], r)
		}
	}
	figures.Record(t, "many hosts, some broken: %d hosts (2 down, 1 with a changed host key, 1 whose sudo fails), %d of %d sound ones converged, %d of %d broken ones named with their reason, %d of %d left unchanged, %d wrong exit codes in 2 applies (the first took %v)",
		n, len(converged), n-len(broken), named, len(broken), unchanged, len(broken), wrongExit, took.Round(time.Second))
}

// recapLines reads apply's closing lines, `NAME  ok=.. changed=.. failed=..
// skipped=..`, into NAME → the counts.
func recapLines(out string) map[string]string {
	m := map[string]string{}
	re := regexp.MustCompile(`(?m)^(\S+)  (ok=\d+ changed=\d+ failed=\d+ skipped=\d+)$`)
	for _, s := range re.FindAllStringSubmatch(out, -1) {
		m[s[1]] = s[2]
	}
	return m
}
