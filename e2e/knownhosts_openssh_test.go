package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// markerPlan writes a plan for host "pi" at h (its own port, user and
// key) with known_hosts kh and one file task.
func markerPlan(t *testing.T, h *testhost.Host, kh string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.hcl"), fmt.Sprintf(`host "pi" {
  address       = %q
  port          = %d
  user          = "pi"
  identity_file = %q
  known_hosts   = %q
  become        = true
}

task "file" "marker" {
  path    = "/etc/hako-marker"
  content = "reached\n"
}
`, h.Addr, h.Port, h.KeyFile, kh))
	return dir
}

// openSSH logs in with OpenSSH's client, trusting only what kh says, and
// returns its combined output and whether it got in.
func openSSH(t *testing.T, h *testhost.Host, kh string) (string, bool) {
	t.Helper()
	cmd := exec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+kh, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=30",
		"-o", "IdentitiesOnly=yes", "-i", h.KeyFile, "-p", strconv.Itoa(h.Port), "pi@"+h.Addr, "echo in")
	cmd.Env = filteredEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err == nil && strings.Contains(string(out), "in")
}

// With -hash-known-hosts, hako records the host's key under a hashed name
// ("|1|salt|hash", no address in the file) that OpenSSH's ssh-keygen -F
// finds by "[addr]:port", that OpenSSH's ssh trusts, and that hako reads
// back on the next run.
func TestHashedKnownHostsAreOpenSSHs(t *testing.T) {
	testhost.Require(t)
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen here")
	}
	h := testhost.Start(t, testhost.Options{SSHPort: 2222})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	dir := markerPlan(t, h, kh)

	r := hako(t, "plan", "-accept-new-host-keys", "-hash-known-hosts", dir)
	if r.code != 0 {
		t.Fatalf("plan:\n%s", r)
	}
	got := readFile(t, kh)
	hostKey := strings.Fields(h.HostKeyLine())
	if !strings.HasPrefix(got, "|1|") || strings.Contains(got, h.Addr) || strings.Count(got, "\n") != 1 ||
		!strings.HasSuffix(got, " "+hostKey[0]+" "+hostKey[1]+"\n") {
		t.Fatalf("known_hosts is not one hashed entry for the host's key:\n%s", got)
	}
	name := fmt.Sprintf("[%s]:%d", h.Addr, h.Port)
	out, err := exec.Command("ssh-keygen", "-F", name, "-f", kh).CombinedOutput()
	if err != nil || !strings.Contains(string(out), hostKey[1]) {
		t.Errorf("ssh-keygen -F %s does not find the entry: %v\n%s", name, err, out)
	}
	if out, ok := openSSH(t, h, kh); !ok {
		t.Errorf("OpenSSH's ssh does not trust the hashed entry:\n%s", out)
	}
	r = hako(t, "apply", dir) // no -accept-new-host-keys: the entry is read back
	if r.code != 0 {
		t.Fatalf("apply with the hashed entry:\n%s", r)
	}
	if again := readFile(t, kh); again != got {
		t.Errorf("known_hosts changed:\n%s", again)
	}
	if out := h.Exec(t, "cat /etc/hako-marker"); out != "reached\n" {
		t.Errorf("marker: %q", out)
	}
}

// certifyHost makes a CA inside the host (once), signs the host's ed25519
// key for principals, has sshd present the certificate and waits until it
// does. It returns the CA's public key line.
func certifyHost(t *testing.T, h *testhost.Host, principals string) string {
	t.Helper()
	h.Exec(t, `set -e
test -e /root/host-ca || ssh-keygen -q -t ed25519 -N '' -C hako-test-ca -f /root/host-ca
ssh-keygen -q -s /root/host-ca -I hako-test-host -h -n '`+principals+`' -V -5m:+1h /etc/ssh/ssh_host_ed25519_key.pub
grep -q '^HostCertificate' /etc/ssh/sshd_config ||
	echo 'HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub' >>/etc/ssh/sshd_config
/etc/init.d/ssh restart >/dev/null`)
	// sshd has restarted when it shows the new certificate.
	h.Exec(t, `cert=$(cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key-cert.pub)
for i in $(seq 600); do
	ssh-keyscan -c -t ed25519 -p `+strconv.Itoa(h.Port)+` 127.0.0.1 2>/dev/null | grep -qF "$cert" && exit 0
	sleep 0.1
done
echo "sshd does not present the certificate" >&2; exit 1`)
	return strings.TrimSpace(h.Exec(t, "cat /root/host-ca.pub"))
}

// A host whose sshd presents an OpenSSH host certificate is accepted with
// only a @cert-authority line for its CA in known_hosts (nothing is
// recorded), as OpenSSH's ssh accepts it; when the certificate names
// another host, hako refuses it, also with -accept-new-host-keys, and
// records nothing.
func TestHostCertificateOnARealHost(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{SSHPort: 2222})
	ca := certifyHost(t, h, "pi.example,"+h.Addr)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	caLine := fmt.Sprintf("@cert-authority [%s]:%d %s\n", h.Addr, h.Port, ca)
	writeFile(t, kh, caLine)
	dir := markerPlan(t, h, kh)

	if out, ok := openSSH(t, h, kh); !ok {
		t.Fatalf("OpenSSH's ssh does not accept the host certificate (test set-up):\n%s", out)
	}
	r := hako(t, "apply", dir)
	if r.code != 0 {
		t.Fatalf("apply with a @cert-authority line:\n%s", r)
	}
	if got := readFile(t, kh); got != caLine {
		t.Errorf("known_hosts changed:\n%s", got)
	}
	if out := h.Exec(t, "cat /etc/hako-marker"); out != "reached\n" {
		t.Errorf("marker: %q", out)
	}

	certifyHost(t, h, "other.example")
	h.Exec(t, "rm /etc/hako-marker")
	if out, ok := openSSH(t, h, kh); ok {
		t.Fatalf("OpenSSH's ssh accepts a certificate for another host (test set-up):\n%s", out)
	}
	r = hako(t, "apply", "-accept-new-host-keys", dir)
	if r.code == 0 {
		t.Fatalf("apply accepted a certificate for another host:\n%s", r)
	}
	mustContain(t, r, `host certificate "hako-test-host"`, "is for other.example, not for "+h.Addr, "refusing to connect")
	if got := readFile(t, kh); got != caLine {
		t.Errorf("known_hosts changed:\n%s", got)
	}
	if out := h.Exec(t, "cat /etc/hako-marker 2>/dev/null || echo absent"); strings.TrimSpace(out) != "absent" {
		t.Errorf("the host was changed: %s", out)
	}
}
