package testhost

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// clientKey is the ed25519 key pair for user pi: made once per process in a temp dir, and
// removed when the last test that started a host has ended.
type clientKey struct {
	dir, private, public string
}

var (
	keyMu   sync.Mutex
	key     *clientKey
	keyRefs int
)

func acquireClientKey() (*clientKey, error) {
	keyMu.Lock()
	defer keyMu.Unlock()
	if key == nil {
		k, err := newClientKey()
		if err != nil {
			return nil, err
		}
		key = k
	}
	keyRefs++
	return key, nil
}

func releaseClientKey() {
	keyMu.Lock()
	defer keyMu.Unlock()
	if keyRefs--; keyRefs == 0 && key != nil {
		os.RemoveAll(key.dir)
		key = nil
	}
}

func newClientKey() (*clientKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "hako-testhost")
	if err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hako-testhost-key-")
	if err != nil {
		return nil, err
	}
	k := &clientKey{dir: dir, private: filepath.Join(dir, "id_ed25519"), public: filepath.Join(dir, "id_ed25519.pub")}
	if err := os.WriteFile(k.private, pem.EncodeToMemory(block), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.WriteFile(k.public, ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return k, nil
}

// KnownHostsFile writes a known_hosts file, removed with t, that trusts this host's current
// ed25519 key at Addr:Port and [Addr6]:Port, and returns its path.
func (h *Host) KnownHostsFile(t testing.TB) string {
	t.Helper()
	line, err := h.knownHostsLine()
	if err != nil {
		t.Fatalf("testhost: known_hosts for %s: %v", h.Name, err)
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
		t.Fatalf("testhost: %v", err)
	}
	return path
}

func (h *Host) knownHostsLine() (string, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKeyLine()))
	if err != nil {
		return "", err
	}
	if pub.Type() != ssh.KeyAlgoED25519 {
		return "", errors.New("host key is " + pub.Type())
	}
	port := strconv.Itoa(h.Port)
	addrs := []string{net.JoinHostPort(h.Addr, port)}
	if h.Addr6 != "" {
		addrs = append(addrs, net.JoinHostPort(h.Addr6, port))
	}
	// Line normalises each address: "addr" for port 22, "[addr]:port" otherwise.
	return knownhosts.Line(addrs, pub), nil
}

// SSH runs cmd on the host as User with the OpenSSH client (not hako's SSH code), trusting
// only the host's own key, and returns its standard output and exit code (255: ssh failed).
func (h *Host) SSH(t testing.TB, cmd string) (stdout string, exitCode int) {
	t.Helper()
	c := exec.Command("ssh", h.sshArgs(h.KnownHostsFile(t), cmd)...)
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		exitCode = exitErr.ExitCode()
	default:
		t.Fatalf("testhost: ssh to %s: %v", h.Name, err)
	}
	if errOut.Len() > 0 {
		t.Logf("testhost: ssh %s@%s %q: exit %d, stderr:\n%s", h.User, h.Name, cmd, exitCode, errOut.String())
	}
	return out.String(), exitCode
}

func (h *Host) sshArgs(knownHosts, cmd string) []string {
	return []string{
		"-F", "/dev/null", // none of the machine's or the user's ssh configuration
		"-i", h.KeyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "UpdateHostKeys=no",
		"-o", "ConnectTimeout=10",
		"-p", strconv.Itoa(h.Port),
		"-l", h.User,
		h.Addr,
		"--", cmd,
	}
}
