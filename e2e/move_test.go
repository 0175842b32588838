package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// A freshly flashed card: systemd, sshd on 22, the image's user pi. The
// plan moves SSH to 2222 and logs in as alice from then on.
func freshCard(t *testing.T) (*testhost.Host, string, func(extra ...string) []string) {
	t.Helper()
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	kh := h.KnownHostsFile(t)
	args := func(extra ...string) []string {
		return append([]string{repoPath("examples/pi-home-server"),
			"-var", "address=" + h.Addr, "-var", "identity_file=" + h.KeyFile, "-var", "known_hosts=" + kh,
			"-var", "ssh_port=2222", "-var", "admin_user=alice", "-var", "bootstrap_user=pi",
			"-var", "pppoe_user=user@isp.example", "-var", "pppoe_password=" + pppoePassword,
			"-var", "pppoe_connect=false"}, extra...)
	}
	return h, kh, args
}

// sshOn runs cmd as user on port with the OpenSSH client, trusting only
// the host's own key for that port.
func sshOn(t *testing.T, h *testhost.Host, user string, port int, cmd string) (string, int) {
	t.Helper()
	out, code, _ := h.SSHAs(t, testhost.Login{User: user, Port: port}, cmd)
	return out, code
}

func listeningPorts(t *testing.T, h *testhost.Host) string {
	return strings.TrimSpace(h.Exec(t, `ss -Hltnp | grep sshd | awk '{print $4}' | sed 's/.*://' | sort -un | tr '\n' ' '`))
}

// One apply takes a fresh card from "just flashed" to the hardened server:
// SSH only on 2222, no password auth, the firewall allows 2222 and not 22,
// alice logs in by key. The next apply goes straight to 2222.
func TestFreshCardInOneApply(t *testing.T) {
	h, kh, args := freshCard(t)
	r := hako(t, append([]string{"apply"}, args()...)...)
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	mustContain(t, r, "port 2222 refused the connection; connecting with the bootstrap settings instead (pi@",
		"changed  user.admin", "moving SSH from port 22 (pi) to port 2222 (alice)",
		"confirmed: logged in on port 2222 as alice", "changed  handler restart_ssh",
		"\npi  ok=1 changed=12 failed=0 skipped=0\n") // each task once, though ufw.firewall changed in both passes
	noPassword(t, r)

	if got := listeningPorts(t, h); got != "2222" {
		t.Errorf("sshd listens on %q, want only 2222", got)
	}
	if got := h.Exec(t, "sshd -T | grep -E '^passwordauthentication '"); strings.TrimSpace(got) != "passwordauthentication no" {
		t.Errorf("sshd -T: %s", got)
	}
	status := h.Exec(t, "ufw status")
	if !strings.Contains(status, "2222 ") || strings.Contains(status, "\n22 ") || strings.Contains(status, "hako: SSH port in use") {
		t.Errorf("ufw status:\n%s", status)
	}
	if out, code := sshOn(t, h, "alice", 2222, "sudo -n id -u"); code != 0 || strings.TrimSpace(out) != "0" {
		t.Errorf("alice on 2222: %d %q", code, out)
	}
	if _, code := sshOn(t, h, "pi", 22, "true"); code == 0 {
		t.Error("port 22 still answers")
	}
	if b := readFile(t, kh); !strings.Contains(b, fmt.Sprintf("[%s]:2222 %s", h.Addr, strings.Fields(h.HostKeyLine())[0])) {
		t.Errorf("known_hosts lacks the new port's entry:\n%s", b)
	}

	again := hako(t, append([]string{"apply"}, args()...)...)
	mustContain(t, again, "\npi  ok=12 changed=0 failed=0 skipped=0\n")
	if strings.Contains(again.stdout, "bootstrap") {
		t.Errorf("the second apply used the bootstrap settings:\n%s", again)
	}
}

// Later, the hardened host moves to another port. Its firewall drops the
// new port, so the connection times out; with bootstrap_port set to the
// port in use for this one run, hako comes in there and moves SSH as it
// does for a fresh card.
func TestHardenedHostMovesToAnotherPort(t *testing.T) {
	h, kh, args := freshCard(t)
	if r := hako(t, append([]string{"apply"}, args()...)...); r.code != 0 {
		t.Fatalf("first apply:\n%s", r)
	}
	move := func() []string {
		return append([]string{"apply", "-connect-timeout", "8s"}, args("-var", "ssh_port=2200", "-var", "bootstrap_port=2222", "-var", "bootstrap_user=alice")...)
	}
	r := hako(t, move()...)
	if r.code != 0 {
		t.Fatalf("moving apply:\n%s", r)
	}
	mustContain(t, r, "port 2200 did not answer; connecting with the bootstrap settings instead (alice@",
		"moving SSH from port 2222 (alice) to port 2200 (alice)", "confirmed: logged in on port 2200 as alice")
	if got := listeningPorts(t, h); got != "2200" {
		t.Errorf("sshd listens on %q, want only 2200", got)
	}
	status := h.Exec(t, "ufw status")
	if !strings.Contains(status, "\n2200 ") || strings.Contains(status, "2222") {
		t.Errorf("ufw status:\n%s", status)
	}
	if out, code := sshOn(t, h, "alice", 2200, "sudo -n id -u"); code != 0 || strings.TrimSpace(out) != "0" {
		t.Errorf("alice on 2200: %d %q", code, out)
	}
	if b := readFile(t, kh); !strings.Contains(b, fmt.Sprintf("[%s]:2200 %s", h.Addr, strings.Fields(h.HostKeyLine())[0])) {
		t.Errorf("known_hosts lacks the new port's entry:\n%s", b)
	}
	again := hako(t, move()...)
	mustContain(t, again, "\npi  ok=11 changed=0 failed=0 skipped=0\n") // no user task: alice is the bootstrap user now
	if strings.Contains(again.stdout, "bootstrap") {
		t.Errorf("the next apply used the bootstrap settings:\n%s", again)
	}
}

// blockPort makes port unreachable outside ufw, in a table of its own that
// sees packets before ufw's: "reject" refuses connections, "drop" lets
// them time out.
func blockPort(t *testing.T, h *testhost.Host, port int, verdict string) {
	h.Exec(t, fmt.Sprintf(`nft list table inet hakotest >/dev/null 2>&1 || { nft add table inet hakotest && nft add chain inet hakotest input '{ type filter hook input priority -10; }'; }
nft flush chain inet hakotest input && nft add rule inet hakotest input tcp dport %d %s`, port, map[string]string{"reject": "reject with tcp reset", "drop": "drop"}[verdict]))
}

// The new port is made unreachable outside ufw: the run fails, and the
// host is reachable on 22 with its old sshd config and firewall.
func TestUnreachableNewPortRollsBack(t *testing.T) {
	h, _, args := freshCard(t)
	blockPort(t, h, 2222, "reject")
	before := h.Exec(t, "sshd -T | grep -E '^(port|passwordauthentication) '; ufw status; ls /etc/ssh/sshd_config.d/")
	r := hako(t, append([]string{"apply"}, args()...)...)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "the new SSH path (alice@", "rolled back", "reachable on port 22")
	if after := h.Exec(t, "sshd -T | grep -E '^(port|passwordauthentication) '; ufw status; ls /etc/ssh/sshd_config.d/"); after != before {
		t.Errorf("not rolled back:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if out, code := sshOn(t, h, "pi", 22, "echo back"); code != 0 || strings.TrimSpace(out) != "back" {
		t.Errorf("pi on 22 after the rollback: %d %q", code, out)
	}
}

// With -confirm, the host rolls back by itself when hako does not confirm
// in time: here hako is stuck connecting to the unreachable new port.
func TestConfirmTimerRollsBackOnItsOwn(t *testing.T) {
	h, _, args := freshCard(t)
	blockPort(t, h, 2222, "reject") // refused at first: hako takes the bootstrap path
	cmd := exec.Command(hakoBin, append([]string{"apply", "-confirm", "20s", "-connect-timeout", "60s"}, args()...)...)
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "moving SSH") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	blockPort(t, h, 2222, "drop") // now hako's confirmation login hangs
	// hako now waits for the new port; the host must not.
	for time.Now().Before(deadline) {
		if h.Exec(t, "ls /var/lib/hako/guard/*/rolledback 2>/dev/null | wc -l") == "1\n" {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if strings.Contains(out.String(), "ok=") {
		t.Fatalf("hako ended before the timer could show anything:\n%s", out.String())
	}
	if got := strings.TrimSpace(h.Exec(t, "sshd -T | grep -E '^port '")); got != "port 22" {
		t.Errorf("after the timer: %s\n%s", got, out.String())
	}
	if o, code := sshOn(t, h, "pi", 22, "echo back"); code != 0 || strings.TrimSpace(o) != "back" {
		t.Errorf("pi on 22 while hako still waits: %d %q", code, o)
	}
}

// A reflashed card has new host keys: plain apply refuses with both
// fingerprints; -reprovision accepts the new key for that host and
// converges.
func TestReflashedCard(t *testing.T) {
	h, kh, args := freshCard(t)
	old := testhost.Start(t, testhost.Options{}) // its key stands for the card's old one
	oldKey := old.HostKeyLine()
	writeFile(t, kh, fmt.Sprintf("%s %s\n[%s]:2222 %s\n", h.Addr, oldKey, h.Addr, oldKey))
	oldFP := strings.Fields(old.Exec(t, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))[1]
	newFP := strings.Fields(h.Exec(t, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))[1]

	r := hako(t, append([]string{"apply"}, args()...)...)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "HOST KEY CHANGED", oldFP, newFP, "-reprovision pi", strings.Fields(oldKey)[1])
	if got := readFile(t, kh); !strings.Contains(got, oldKey) {
		t.Error("known_hosts was changed without -reprovision")
	}

	r = hako(t, append([]string{"apply", "-reprovision", "pi"}, args()...)...)
	if r.code != 0 {
		t.Fatalf("apply -reprovision:\n%s", r)
	}
	mustContain(t, r, "host key replaced (reprovision)", oldFP, newFP, "2 entries", "confirmed: logged in on port 2222")
	got := readFile(t, kh)
	if strings.Contains(got, strings.Fields(oldKey)[1]) || strings.Count(got, strings.Fields(h.HostKeyLine())[1]) != 2 {
		t.Errorf("known_hosts after reprovision:\n%s", got)
	}
	mustContain(t, hako(t, append([]string{"apply"}, args()...)...), "changed=0 failed=0")
}

// syncBuffer is a buffer a running command writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A card whose first user has only a password: -ask-bootstrap-password
// reads it once (here from standard input, as with sudo -S), hako logs in
// with it, creates alice with the key and moves SSH; the password appears
// nowhere.
func TestFreshCardWithOnlyAPassword(t *testing.T) {
	h, _, args := freshCard(t)
	const pw = "Rasp-Pw-4711"
	h.Exec(t, "echo 'pi:"+pw+"' | chpasswd && rm /home/pi/.ssh/authorized_keys")
	if _, code := sshOn(t, h, "pi", 22, "true"); code == 0 {
		t.Fatal("pi still logs in by key")
	}
	cmd := exec.Command(hakoBin, append([]string{"apply", "-ask-bootstrap-password"}, args()...)...)
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(pw + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	r := result{stdout: string(out)}
	mustContain(t, r, "connecting with the bootstrap settings", "changed  user.admin", "confirmed: logged in on port 2222 as alice")
	if strings.Contains(string(out), pw) {
		t.Errorf("the password appears in the output:\n%s", out)
	}
	if o, code := sshOn(t, h, "alice", 2222, "sudo -n id -u"); code != 0 || strings.TrimSpace(o) != "0" {
		t.Errorf("alice on 2222: %d %q", code, o)
	}
}
