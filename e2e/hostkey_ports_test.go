package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// portsPlan writes a plan for host "pi" on h's address at port, with a
// bootstrap block on bootstrapPort, and one file task.
func portsPlan(t *testing.T, h *testhost.Host, kh string, port, bootstrapPort int) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.hcl"), fmt.Sprintf(`host "pi" {
  address       = %q
  port          = %d
  user          = "pi"
  identity_file = %q
  known_hosts   = %q
  become        = true
  bootstrap {
    port = %d
  }
}

task "file" "marker" {
  path    = "/etc/hako-marker"
  content = "reached\n"
}
`, h.Addr, port, h.KeyFile, kh, bootstrapPort))
	return dir
}

// hakoWithStdin runs hako with stdin (for -ask-bootstrap-password).
func hakoWithStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(hakoBin, withConnectTimeout(args)...)
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	r := result{stdout: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running hako: %v", err)
	}
	return r
}

// Whoever can make the host's port unreachable and answer on its bootstrap
// port must get nothing: known_hosts has the host's key for its port 2222
// (refused here), and another machine answers on 22 with its own key and a
// login that takes the bootstrap password. Even with
// -accept-new-host-keys, hako refuses before logging in, records nothing
// and sends no password. The host's real key on 22 is accepted, without
// -accept-new-host-keys, and recorded for 22.
func TestBootstrapPortMustMatchTheHostsKey(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{}) // answers on 22: the impostor
	const pw = "Boot-Pw-8152"
	h.Exec(t, "echo 'pi:"+pw+"' | chpasswd && rm /home/pi/.ssh/authorized_keys")
	real := testhost.NewKeyPair(t, t.TempDir(), "the-real-host") // stands for the host's own key
	kh := filepath.Join(t.TempDir(), "known_hosts")
	realFields := strings.Fields(real.Public)
	recorded := fmt.Sprintf("[%s]:2222 %s %s\n", h.Addr, realFields[0], realFields[1])
	writeFile(t, kh, recorded)
	dir := portsPlan(t, h, kh, 2222, 22)

	r := hakoWithStdin(t, pw+"\n", "apply", "-accept-new-host-keys", "-ask-bootstrap-password", dir)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	impostorFP := strings.Fields(h.Exec(t, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))[1]
	mustContain(t, r, "port 2222 refused the connection; connecting with the bootstrap settings",
		"HOST KEY DIFFERS", impostorFP, real.Fingerprint, "-reprovision pi")
	if got := readFile(t, kh); got != recorded {
		t.Errorf("known_hosts changed:\n%s", got)
	}
	if strings.Contains(r.stdout, pw) {
		t.Errorf("the password appears in the output:\n%s", r)
	}
	if log := h.Log(t); strings.Contains(log, "Accepted") || strings.Contains(log, "Failed password") {
		t.Errorf("hako logged in or sent the password:\n%s", log)
	}
	if out := h.Exec(t, "cat /etc/hako-marker 2>/dev/null || echo absent"); strings.TrimSpace(out) != "absent" {
		t.Errorf("the host was changed: %s", out)
	}

	// The same machine: its key, recorded for 2222, is the one on 22.
	hostLine := strings.Fields(h.HostKeyLine())
	writeFile(t, kh, fmt.Sprintf("[%s]:2222 %s %s\n", h.Addr, hostLine[0], hostLine[1]))
	r = hakoWithStdin(t, pw+"\n", "plan", "-ask-bootstrap-password", dir)
	if r.code != 0 {
		t.Fatalf("plan over the bootstrap port of the same machine:\n%s", r)
	}
	mustContain(t, r, "connecting with the bootstrap settings", "file.marker")
	if got := readFile(t, kh); !strings.Contains(got, fmt.Sprintf("\n%s %s %s", h.Addr, hostLine[0], hostLine[1])) {
		t.Errorf("the key was not recorded for port 22:\n%s", got)
	}
}

// -reprovision through the host's own port replaces the old key's entries
// on that port and on its bootstrap port, as the README says: a later
// fallback to the bootstrap port must not meet the old key.
func TestReprovisionThroughTheMainPortReplacesTheBootstrapEntry(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{SSHPort: 2222})
	old := strings.Fields(testhost.NewKeyPair(t, t.TempDir(), "the-old-card").Public)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, kh, fmt.Sprintf("%s %s %s\n[%s]:2222 %s %s\n", h.Addr, old[0], old[1], h.Addr, old[0], old[1]))
	dir := portsPlan(t, h, kh, 2222, 22)

	r := hako(t, "plan", "-reprovision", "pi", dir)
	if r.code != 0 {
		t.Fatalf("plan -reprovision:\n%s", r)
	}
	mustContain(t, r, "host key replaced (reprovision)", "2 entries")
	got := readFile(t, kh)
	hostLine := strings.Fields(h.HostKeyLine())
	if strings.Contains(got, old[1]) || got != fmt.Sprintf("[%s]:2222 %s %s\n", h.Addr, hostLine[0], hostLine[1]) {
		t.Errorf("known_hosts after -reprovision:\n%s", got)
	}
}
