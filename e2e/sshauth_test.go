package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

func sshKeygen(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// An OpenSSH user certificate gets in where the key alone does not: the
// host's sshd trusts the CA (TrustedUserCAKeys) and pi's authorized_keys
// does not list the key. The certificate comes from ssh_config's
// CertificateFile, then from FILE-cert.pub beside the identity file.
func TestSSHCertificateLogin(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	t.Setenv("HOME", t.TempDir())
	kh := h.KnownHostsFile(t)
	keys := t.TempDir()
	ca, user := filepath.Join(keys, "ca"), filepath.Join(keys, "id_user")
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-C", "hako test CA", "-f", ca)
	sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-C", "hako test user", "-f", user)
	sshKeygen(t, "-q", "-s", ca, "-I", "hako-e2e", "-n", "pi", "-V", "-5m:+1h", user+".pub")
	cert := filepath.Join(keys, "certs", "pi-cert.pub")
	if err := os.Mkdir(filepath.Dir(cert), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(user+"-cert.pub", cert); err != nil {
		t.Fatal(err)
	}
	caPub, err := os.ReadFile(ca + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	h.Exec(t, fmt.Sprintf(`printf '%%s' '%s' > /etc/ssh/hako_user_ca.pub
echo 'TrustedUserCAKeys /etc/ssh/hako_user_ca.pub' > /etc/ssh/sshd_config.d/50-user-ca.conf
/etc/init.d/ssh reload >/dev/null`, strings.TrimSpace(string(caPub))+"\n"))
	if got := h.Exec(t, "grep -c 'hako test user' /home/pi/.ssh/authorized_keys || true"); strings.TrimSpace(got) != "0" {
		t.Fatalf("the user key is in authorized_keys: %q", got)
	}

	config := filepath.Join(t.TempDir(), "config")
	base := fmt.Sprintf("Host certpi\n  HostName %s\n  Port %d\n  User pi\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n",
		h.Addr, h.Port, user, kh)
	dir := aliasPlan(t, "certpi", "", "with a certificate\n")

	// the key alone is refused (sshd may take a moment to reload)
	writeFile(t, config, base)
	r := hako(t, "apply", "-F", config, dir)
	if r.code == 0 {
		t.Fatalf("the key alone got in:\n%s", r)
	}
	mustContain(t, r, "authentication failed", "identity file "+user)

	writeFile(t, config, base+"  CertificateFile "+cert+"\n")
	var apply result
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		apply = hako(t, "apply", "-v", "-F", config, dir)
		if apply.code == 0 || time.Now().After(deadline) {
			break
		}
	}
	if apply.code != 0 {
		t.Fatalf("apply with the certificate failed:\n%s\n%s", apply, h.Log(t))
	}
	mustContain(t, apply, "pi  ok=0 changed=1 failed=0")
	if !hasLine(apply.stderr, "certificatefile", cert, "ssh_config") {
		t.Errorf("-v does not say the certificate came from ssh_config:\n%s", apply.stderr)
	}
	if got := h.Exec(t, "cat /etc/hako-mark"); got != "with a certificate\n" {
		t.Errorf("/etc/hako-mark = %q", got)
	}

	// FILE-cert.pub beside the identity file, as OpenSSH finds it
	writeFile(t, config, base)
	if err := os.Rename(cert, user+"-cert.pub"); err != nil {
		t.Fatal(err)
	}
	again := hako(t, "apply", "-F", config, dir)
	mustContain(t, again, "pi  ok=1 changed=0 failed=0")
}

// startSSHAgent runs OpenSSH's ssh-agent on its own socket, holding keys,
// and ends it (by its PID) when the test does.
func startSSHAgent(t *testing.T, keys ...string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent made no socket")
		}
	}
	for _, k := range keys {
		add := exec.Command("ssh-add", "-q", k)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add %s: %v\n%s", k, err, out)
		}
	}
	return sock
}

// ssh_config's IdentityAgent names the agent holding the only key the
// host accepts: no identity file has it, and hako runs without
// SSH_AUTH_SOCK.
func TestSSHIdentityAgent(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	t.Setenv("HOME", t.TempDir())
	kh := h.KnownHostsFile(t)
	sock := startSSHAgent(t, h.KeyFile)
	config := filepath.Join(t.TempDir(), "config")
	base := fmt.Sprintf("Host agentpi\n  HostName %s\n  Port %d\n  User pi\n  IdentityFile %s\n  UserKnownHostsFile %s\n",
		h.Addr, h.Port, filepath.Join(t.TempDir(), "no_such_key"), kh)
	writeFile(t, config, base+"  IdentityAgent "+sock+"\n")
	dir := aliasPlan(t, "agentpi", "", "through the agent\n")
	r := hako(t, "apply", "-v", "-F", config, dir)
	if r.code != 0 {
		t.Fatalf("apply through IdentityAgent failed:\n%s", r)
	}
	mustContain(t, r, "pi  ok=0 changed=1 failed=0")
	if !hasLine(r.stderr, "identityagent", sock, "ssh_config") || strings.Contains(r.stderr, "identityagent "+sock+" (not used") {
		t.Errorf("-v does not say IdentityAgent came from ssh_config:\n%s", r.stderr)
	}

	// without it, no agent: refused, naming what was tried
	writeFile(t, config, base)
	r = hako(t, "apply", "-F", config, dir)
	if r.code == 0 {
		t.Fatalf("got in without the agent:\n%s", r)
	}
	mustContain(t, r, "authentication failed", "SSH_AUTH_SOCK not set")
}

// An encrypted identity file that no agent holds: hako asks for its
// passphrase on the terminal (a pty here), once, without echo, and logs
// in; the passphrase appears in no byte of the output.
func TestSSHKeyPassphrasePrompt(t *testing.T) {
	testhost.Require(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script (util-linux) is not installed: no pty")
	}
	h := testhost.Start(t, testhost.Options{})
	t.Setenv("HOME", t.TempDir())
	kh := h.KnownHostsFile(t)
	const passphrase = "correct-horse-7Qx"
	key := filepath.Join(t.TempDir(), "id_enc")
	b, err := os.ReadFile(h.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, key, string(b))
	sshKeygen(t, "-q", "-p", "-N", passphrase, "-f", key)
	config := filepath.Join(t.TempDir(), "config")
	writeFile(t, config, fmt.Sprintf("Host encpi\n  HostName %s\n  Port %d\n  User pi\n  IdentityFile %s\n  UserKnownHostsFile %s\n",
		h.Addr, h.Port, key, kh))
	dir := aliasPlan(t, "encpi", "", "with a passphrase\n")

	// without a terminal: refused, naming the file and ssh-add
	r := hako(t, "apply", "-F", config, dir)
	if r.code == 0 {
		t.Fatalf("got in without the passphrase:\n%s", r)
	}
	mustContain(t, r, "identity file "+key+" (passphrase-protected, not loaded in ssh-agent, and no terminal", "ssh-add "+key)

	// on a pty: script(1) runs hako on one; the passphrase is typed only
	// after the prompt, as a person would (typed-ahead input is echoed
	// by the terminal before hako can turn echo off).
	cmd := exec.Command("script", "-qefc", strings.Join([]string{hakoBin, "apply", "-connect-timeout", "30s", "-F", config, dir}, " "), "/dev/null")
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	prompt := "Enter passphrase for key '" + key + "'"
	buf := make([]byte, 4096)
	typed := false
	for {
		n, err := stdout.Read(buf)
		out.Write(buf[:n])
		if !typed && strings.Contains(out.String(), prompt) {
			typed = true
			if _, err := stdin.Write([]byte(passphrase + "\n")); err != nil {
				t.Fatal(err)
			}
		}
		if err != nil {
			break
		}
	}
	werr := cmd.Wait()
	got := out.String()
	if werr != nil || !typed {
		t.Fatalf("hako on a pty: %v (prompted: %v)\n%s", werr, typed, got)
	}
	if strings.Count(got, prompt) != 1 {
		t.Errorf("asked %d times, want once:\n%s", strings.Count(got, prompt), got)
	}
	if strings.Contains(got, passphrase) {
		t.Errorf("the passphrase is in the output:\n%s", got)
	}
	if !strings.Contains(got, "pi  ok=0 changed=1 failed=0") {
		t.Errorf("apply did not change the file:\n%s", got)
	}
}
