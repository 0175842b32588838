package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/figures"
	"github.com/hako-dev/hako/internal/testhost"
)

// hostFault is one way a host fails an apply.
type hostFault struct {
	name   string
	become bool
	setup  string // shell run as root inside the host before the apply
	body   string // the plan's tasks (and handlers)
	files  map[string]string
	// during, when set, runs while the apply is under way, once the host
	// has file ready (a task creates it).
	during, ready string
	task          string         // the task (or "handler NAME") that must fail
	reason        *regexp.Regexp // what its line must say
	// managed is a file the plan manages, with its content before and
	// after: afterwards it must hold exactly one of the two, and its
	// folder no temp file of hako's.
	managed, old, new string
	// recover runs (as root inside the host) after the check, before the
	// fault-free apply that must converge; "" when the fault stays.
	recover string
	// gone is a pattern (grep -E of `ps -eo args=`) that no process on the
	// host may match once hako has ended.
	gone string
}

// Host-side failures on real hosts: each must fail its task with a line
// naming the host and the task and saying why, exit 1, and leave the host
// consistent: the managed file old or new, never half-written, and no
// hidden temp file of hako's beside it.
func TestHostSideFailures(t *testing.T) {
	testhost.Require(t)
	big := strings.Repeat("0123456789abcdef", 8<<10) // 128 KiB
	cases := []hostFault{{
		name:   "disk full",
		become: true,
		setup:  "mkdir -p /srv/full && mount -t tmpfs -o size=64k,mode=0755 tmpfs /srv/full && printf 'old\\n' >/srv/full/data",
		body: `
task "file" "data" {
  path   = "/srv/full/data"
  source = "big"
}
`,
		files:   map[string]string{"big": big},
		task:    "file.data",
		reason:  regexp.MustCompile(`(?i)no space left|disk full|file system is full`),
		managed: "/srv/full/data", old: "old\n", new: big,
	}, {
		name:  "permission denied (become off)",
		setup: "printf 'old\\n' >/etc/hako-perm.conf",
		body: `
task "file" "perm" {
  path    = "/etc/hako-perm.conf"
  content = "new\n"
}
`,
		task:    "file.perm",
		reason:  regexp.MustCompile(`permission denied \(hako writes as uid 1000 here, not as root: become = true, with become_user root, writes as root\)`),
		managed: "/etc/hako-perm.conf", old: "old\n", new: "new\n",
	}, {
		name:   "validator rejects the file (sshd -t)",
		become: true,
		setup:  "printf 'PermitRootLogin no\\n' >/etc/ssh/hako-test.conf",
		body: `
task "file" "sshd" {
  path     = "/etc/ssh/hako-test.conf"
  content  = "PermitRootLogin no\nNoSuchKeyword yes\n"
  validate = "/usr/sbin/sshd -t -f %s"
}
`,
		task:    "file.sshd",
		reason:  regexp.MustCompile(`(?s)validat.*Bad configuration option: NoSuchKeyword`),
		managed: "/etc/ssh/hako-test.conf", old: "PermitRootLogin no\n", new: "PermitRootLogin no\nNoSuchKeyword yes\n",
	}, {
		name:   "a handler fails",
		become: true,
		setup:  "printf 'old\\n' >/etc/hako-app.conf",
		body: `
task "file" "conf" {
  path    = "/etc/hako-app.conf"
  content = "new\n"
  notify  = ["reload"]
}
handler "reload" {
  command = "echo 'app: config rejected' >&2; exit 4"
}
`,
		task:    "handler reload",
		reason:  regexp.MustCompile(`exit status 4: app: config rejected`),
		managed: "/etc/hako-app.conf", old: "old\n", new: "new\n",
	}, {
		name:   "a command that never ends (its timeout)",
		become: true,
		setup:  "printf 'old\\n' >/etc/hako-stuck.conf",
		body: `
task "file" "conf" {
  path    = "/etc/hako-stuck.conf"
  content = "new\n"
}
task "command" "stuck" {
  command = "sleep 303; echo never"
  timeout = "3s"
}
`,
		task:    "command.stuck",
		reason:  regexp.MustCompile(`the command was still running after 3s, the task's timeout; it was killed`),
		managed: "/etc/hako-stuck.conf", old: "old\n", new: "new\n",
		gone: "[s]leep 303",
	}, {
		// Every process of the host dies at once, sshd and the apply's
		// session with it, and the host comes back with a fresh sshd: a
		// reboot as hako sees it (a lite host's PID 1 is the harness's, so
		// the kernel and /run stay).
		name:   "the host reboots mid-apply",
		become: true,
		setup:  "printf 'old\\n' >/etc/hako-boot.conf",
		body: `
task "file" "conf" {
  path    = "/etc/hako-boot.conf"
  content = "new\n"
}
task "command" "long" {
  command = "touch /run/hako-long-started; sleep 300"
  creates = "/run/hako-long-done"
}
task "file" "after" {
  path    = "/etc/hako-after.conf"
  content = "after\n"
}
`,
		ready:   "/run/hako-long-started",
		during:  "kill -KILL -1; sleep 1; /etc/init.d/ssh start >/dev/null",
		task:    "command.long",
		reason:  regexp.MustCompile(`the connection was closed while the command ran, so whether it finished is unknown \(the host rebooted`),
		managed: "/etc/hako-boot.conf", old: "old\n", new: "new\n",
		recover: "touch /run/hako-long-done",
	}}

	clear, wrongExit, inconsistent := 0, 0, 0
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			h := testhost.Start(t, testhost.Options{})
			h.Exec(t, c.setup)
			dir := planWithHost(t, h, fmt.Sprintf("  become        = %t\n", c.become), c.body)
			for name, content := range c.files {
				writeFile(t, filepath.Join(dir, name), content)
			}

			var r result
			if c.during == "" {
				r = hako(t, "apply", dir)
			} else {
				r = hakoWhile(t, h, c.ready, c.during, "apply", dir)
			}
			out := r.stdout + r.stderr
			if r.code != 1 {
				wrongExit++
				t.Errorf("want exit 1\n%s", r)
			}
			line := ""
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "pi  failed   "+c.task+":") {
					line = l
				}
			}
			switch {
			case line == "":
				t.Errorf("no line `pi  failed   %s: ...`\n%s", c.task, r)
			case !c.reason.MatchString(line):
				t.Errorf("the failure does not say why (want %v): %q\n%s", c.reason, line, r)
			default:
				clear++
			}

			got := h.Exec(t, "cat "+c.managed)
			leftovers := h.Exec(t, fmt.Sprintf("ls -A %s | grep -F '.%s.hako-' || true", path.Dir(c.managed), path.Base(c.managed)))
			if (got != c.old && got != c.new) || leftovers != "" {
				inconsistent++
				if len(got) > 200 {
					got = got[:200] + "…"
				}
				t.Errorf("%s holds %q (neither the old nor the new content?), temp files beside it: %q", c.managed, got, leftovers)
			}
			if c.gone != "" {
				left := ""
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
					if left = h.Exec(t, "ps -eo pid=,args= | grep -E '"+c.gone+"' || true"); left == "" {
						break
					}
				}
				if left != "" {
					inconsistent++
					t.Errorf("still running on the host after hako ended:\n%s", left)
				}
			}
			if c.recover == "" {
				return
			}
			h.Exec(t, c.recover)
			if r := hako(t, "apply", dir); r.code != 0 {
				t.Errorf("once the host is back, apply: want exit 0\n%s", r)
			} else if got := h.Exec(t, "cat "+c.managed); got != c.new {
				t.Errorf("after the recovery %s holds %q", c.managed, got)
			}
		})
	}
	figures.Record(t, "host-side failures: %d cases, %d clear messages naming host and task, %d wrong exit codes, %d inconsistent hosts",
		len(cases), clear, wrongExit, inconsistent)
}

// hakoWhile runs hako with args and, once file exists on h, runs during
// inside h (as root, without SSH); it returns hako's result.
func hakoWhile(t *testing.T, h *testhost.Host, file, during string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hakoBin, withConnectTimeout(args)...)
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(2 * time.Minute); h.Exec(t, "test -e "+file+" && echo yes || true") == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear on the host:\n%s%s", file, stdout.String(), stderr.String())
		}
	}
	h.Exec(t, during)
	err := cmd.Wait()
	r := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running hako: %v", err)
	}
	t.Logf("hako %s (%s meanwhile): exit %d in %v", strings.Join(args, " "), during, r.code, r.elapsed.Round(time.Millisecond))
	if os.Getenv("HAKO_E2E_SHOW") != "" {
		t.Log(r)
	}
	return r
}
