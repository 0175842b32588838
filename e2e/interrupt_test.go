package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/figures"
	"github.com/hako-dev/hako/internal/testhost"
)

// watchedRun is hako started in the background while a watch inside the
// host waits for the moment a test acts at (a shell condition polled every
// 20 ms). seen answers true when the moment came, false when the watch
// gave up (5 minutes, or stopWatch).
type watchedRun struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan error
	seen   chan bool
}

// startRun starts hako with args in the background, its output in out;
// the caller waits for it (cmd.Wait) and answers seen.
func startRun(t *testing.T, args ...string) *watchedRun {
	t.Helper()
	w := &watchedRun{
		cmd:    exec.Command(hakoBin, args...),
		out:    &syncBuffer{},
		exited: make(chan error, 1),
		seen:   make(chan bool, 1),
	}
	w.cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return w
}

// startWatched starts hako with args and the watch for cond on h.
func startWatched(t *testing.T, h *testhost.Host, cond string, args ...string) *watchedRun {
	t.Helper()
	w := startRun(t, args...)
	go func() { w.exited <- w.cmd.Wait() }()
	go func() {
		o := h.Exec(t, fmt.Sprintf(`i=0; until %s; do [ ! -e /run/stop-watch ] && [ $i -lt 15000 ] || { echo missed; exit 0; }; sleep 0.02; i=$((i+1)); done; echo seen`, cond))
		w.seen <- o == "seen\n"
	}()
	return w
}

// stopWatch ends the watch inside the host (hako ended before the moment)
// and waits for it.
func (w *watchedRun) stopWatch(t *testing.T, h *testhost.Host) {
	h.Exec(t, "touch /run/stop-watch")
	<-w.seen
}

// wait waits up to limit for hako to end, then kills it; hung says it had
// to be killed.
func (w *watchedRun) wait(limit time.Duration) (err error, hung bool) {
	select {
	case err = <-w.exited:
		return err, false
	case <-time.After(limit):
		_ = w.cmd.Process.Kill()
		return <-w.exited, true
	}
}

// movePort is the port the interrupted plans move SSH to.
const movePort = 50022

// moveBehindFirewall is a plan that moves SSH of a fresh card from 22 to
// movePort behind a ufw task of 16 rules, as a user writes it: the firewall
// first, then sshd's port, then its restart.
func moveBehindFirewall(t *testing.T, h *testhost.Host) string {
	t.Helper()
	var rules strings.Builder
	rules.WriteString("  ipv6             = true\n  exclusive        = true\n")
	fmt.Fprintf(&rules, "  rule {\n    port    = %d\n    comment = \"ssh\"\n  }\n", movePort)
	for i := range 15 {
		fmt.Fprintf(&rules, "  rule {\n    port    = %d\n    from    = \"10.%d.0.0/16\"\n    comment = \"service %d\"\n  }\n", 8000+i, i, i)
	}
	return guardedMovePlan(t, h, rules.String(), "")
}

// sshRuleOnly is a ufw task's body that opens movePort alone.
var sshRuleOnly = fmt.Sprintf("  rule {\n    port    = %d\n    comment = \"ssh\"\n  }\n", movePort)

// guardedMovePlan writes a plan that moves SSH from 22 (pi) to movePort:
// a ufw task (deny incoming, allow outgoing, then ufwBody: attributes and
// rules), the tasks given in HCL, sshd's port, and its restart. It returns
// the plan's folder.
func guardedMovePlan(t *testing.T, h *testhost.Host, ufwBody, tasks string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), fmt.Sprintf(`
host "pi" {
  address       = %q
  port          = %d
  user          = "pi"
  identity_file = %q
  known_hosts   = %q
  become        = true
  bootstrap {
    port = 22
    user = "pi"
  }
}

task "ufw" "firewall" {
  default_incoming = "deny"
  default_outgoing = "allow"
%s}
%s
task "file" "sshd_port" {
  path     = "/etc/ssh/sshd_config.d/20-port.conf"
  content  = "Port %d\n"
  validate = "/usr/sbin/sshd -t -f %%s"
  notify   = ["restart_ssh"]
}

handler "restart_ssh" {
  command = "service ssh restart"
}
`, h.Addr, movePort, h.KeyFile, h.KnownHostsFile(t), ufwBody, tasks, movePort))
	return dir
}

// hostState is what an interrupted move must leave as it found it: ufw's
// state and files, the rules loaded in the kernel by ufw, and sshd's
// configuration and listening ports.
const hostState = `ufw status verbose
for f in /etc/default/ufw /etc/ufw/*.conf /etc/ufw/*.rules /etc/ufw/*.rules6; do sha256sum "$f"; done
iptables -S | grep -- '-A ufw-user-input' || true
ip6tables -S | grep -- '-A ufw6-user-input' || true
ls -A /etc/ssh/sshd_config.d/
for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*; do [ ! -e "$f" ] || sha256sum "$f"; done
sshd -T | grep -E '^(port|listenaddress) '
ss -Hltn | awk '{print $4}' | sort`

// reachableFrom says whether a TCP connection from the host from to
// addr:port gets an SSH banner.
func reachableFrom(t *testing.T, from *testhost.Host, addr string, port int) bool {
	t.Helper()
	out := from.Exec(t, fmt.Sprintf(`timeout 10 bash -c 'exec 3<>/dev/tcp/%s/%d && head -c 4 <&3' 2>/dev/null || true`, addr, port))
	return out == "SSH-"
}

// interruptPoint is a moment of the move, seen on the host: a shell
// condition, polled inside it.
type interruptPoint struct {
	name  string
	cond  string
	delay time.Duration // after cond holds
}

// userRules is true when ufw's user.rules holds at least n rules.
func userRules(n int) string {
	return fmt.Sprintf(`[ "$(grep -c '^### tuple' /etc/ufw/user.rules 2>/dev/null)" -ge %d ]`, n)
}

// armed: the guard has saved what it restores (the run is about to start
// its first task).
const armed = `ls /var/lib/hako/guard/*/armed >/dev/null 2>&1`

var interruptPoints = []interruptPoint{
	{"guard armed", armed, 0},
	{"0.3 s after arming", armed, 300 * time.Millisecond},
	{"0.6 s after arming", armed, 600 * time.Millisecond},
	{"first ufw command", armed + ` && pgrep -f "/usr/sbin/uf[w]" >/dev/null`, 0},
	{"1 rule written", userRules(1), 0},
	{"4 rules written", userRules(4), 0},
	{"8 rules written", userRules(8), 0},
	{"12 rules written", userRules(12), 0},
	{"16 rules written", userRules(16), 0},
	{"ufw enabled in ufw.conf", `grep -q '^ENABLED=yes' /etc/ufw/ufw.conf`, 0},
	{"ufw chains loaded", `iptables -n -L ufw-user-input 2>/dev/null | grep -q ACCEPT`, 0},
	{"sshd drop-in written", `[ -e /etc/ssh/sshd_config.d/20-port.conf ]`, 0},
	{"sshd on the new port", fmt.Sprintf(`ss -Hltn | grep -q ':%d '`, movePort), 0},
}

// Ctrl-C at many moments of a port move behind a firewall: each time, hako
// stops what it started on the host, rolls back and says it was
// interrupted; the firewall and sshd are as before the run, and port 22
// answers from another address on the LAN, not only from this machine.
func TestInterruptedMoveRollsBack(t *testing.T) {
	testhost.Require(t)
	var reached, differed, unreachable, misreported int
	for _, p := range interruptPoints {
		t.Run(strings.ReplaceAll(p.name, " ", "_"), func(t *testing.T) {
			h := testhost.Start(t, testhost.Options{})
			neighbour := testhost.Start(t, testhost.Options{})
			before := h.Exec(t, hostState)
			if !reachableFrom(t, neighbour, h.Addr, 22) {
				t.Fatal("port 22 does not answer another address before the run")
			}
			dir := moveBehindFirewall(t, h)

			w := startWatched(t, h, p.cond, "apply", "-connect-timeout", "30s", dir)
			out := w.out
			var err error
			select {
			case ok := <-w.seen:
				if ok {
					reached++
					time.Sleep(p.delay)
					_ = w.cmd.Process.Signal(syscall.SIGINT)
				}
				var hung bool
				if err, hung = w.wait(5 * time.Minute); hung {
					t.Errorf("hako did not end within 5 minutes of the interrupt")
				}
				if !ok {
					t.Errorf("the moment never came:\n%s", out)
				}
			case err = <-w.exited:
				w.stopWatch(t, h)
				t.Errorf("hako ended before the moment came (%v):\n%s", err, out)
				return
			}
			t.Logf("interrupted at %q; hako: %v\n%s\nguard log:\n%s", p.name, err, out, h.Exec(t, "cat /var/lib/hako/guard/*/log 2>/dev/null || true"))
			// Interrupted while arming, nothing was changed; later, the
			// host was rolled back.
			if s := out.String(); !strings.Contains(s, "error: host pi: interrupted") ||
				!strings.Contains(s, ": rolled back the SSH, firewall and network configuration") && !strings.Contains(s, "nothing was changed") ||
				strings.Contains(s, "does not work") {
				misreported++
				t.Errorf("the interrupt is not reported as one:\n%s", s)
			}
			// Looked at twice: a command still at work on the host would
			// change it after hako ended.
			after := h.Exec(t, hostState)
			if after == before {
				time.Sleep(5 * time.Second)
				after = h.Exec(t, hostState)
			}
			if after != before {
				differed++
				t.Errorf("the host differs after the interrupt:\nbefore:\n%s\nafter:\n%s\nguard log:\n%s", before, after,
					h.Exec(t, "cat /var/lib/hako/guard/*/log 2>/dev/null || true"))
			}
			if !reachableFrom(t, neighbour, h.Addr, 22) {
				unreachable++
				t.Errorf("port 22 does not answer another address after the interrupt")
			}
		})
	}
	figures.Record(t, "interrupted port moves: %d interrupt points (%d reached), %d runs where the firewall or sshd differed from before, %d where port 22 was unreachable from another address, %d not reported as an interrupt",
		len(interruptPoints), reached, differed, unreachable, misreported)
}
