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
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// clientKey is the ed25519 key pair for the hosts' User: made once per process in a temp
// dir, and removed when the last test that started a host has ended.
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
	dir, err := os.MkdirTemp("", "hako-testhost-key-")
	if err != nil {
		return nil, err
	}
	k, err := writeKeyPair(dir, "hako-testhost")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &clientKey{dir: dir, private: k.Private, public: k.Private + ".pub"}, nil
}

// KnownHostsFile writes a known_hosts file, removed with t, that trusts this host's current
// ed25519 key at Addr:Port and [Addr6]:Port, and returns its path.
func (h *Host) KnownHostsFile(t testing.TB) string {
	t.Helper()
	return h.knownHostsFileFor(t, h.Port)
}

func (h *Host) knownHostsFileFor(t testing.TB, port int) string {
	t.Helper()
	line, err := h.knownHostsLine(port)
	if err != nil {
		t.Fatalf("testhost: known_hosts for %s: %v", h.Name, err)
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
		t.Fatalf("testhost: %v", err)
	}
	return path
}

func (h *Host) knownHostsLine(port int) (string, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKeyLine()))
	if err != nil {
		return "", err
	}
	if pub.Type() != ssh.KeyAlgoED25519 {
		return "", errors.New("host key is " + pub.Type())
	}
	p := strconv.Itoa(port)
	addrs := []string{net.JoinHostPort(h.Addr, p)}
	if h.Addr6 != "" {
		addrs = append(addrs, net.JoinHostPort(h.Addr6, p))
	}
	// Line normalises each address: "addr" for port 22, "[addr]:port" otherwise.
	return knownhosts.Line(addrs, pub), nil
}

// Login is an OpenSSH login other than the host's own: zero fields take the
// host's User, Port and KeyFile.
type Login struct {
	User    string
	Port    int
	KeyFile string
	NoKey   bool // offer no key at all: to prove a password-only login is refused
}

// SSH runs cmd on the host as User with the OpenSSH client (not hako's SSH code), trusting
// only the host's own key, and returns its standard output and exit code (255: ssh failed).
func (h *Host) SSH(t testing.TB, cmd string) (stdout string, exitCode int) {
	t.Helper()
	stdout, exitCode, _ = h.SSHAs(t, Login{}, cmd)
	return stdout, exitCode
}

// SSHAs is SSH as l describes; it also returns standard error, which it
// logs when not empty.
func (h *Host) SSHAs(t testing.TB, l Login, cmd string) (stdout string, exitCode int, stderr string) {
	t.Helper()
	l = h.withDefaults(l)
	c := exec.Command("ssh", h.loginArgs(h.knownHostsFileFor(t, l.Port), l, cmd)...)
	c.Env = withoutAgent(os.Environ())
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
		t.Logf("testhost: ssh %s@%s:%d %q: exit %d, stderr:\n%s", l.User, h.Name, l.Port, cmd, exitCode, errOut.String())
	}
	return out.String(), exitCode, errOut.String()
}

func (h *Host) withDefaults(l Login) Login {
	if l.User == "" {
		l.User = h.User
	}
	if l.Port == 0 {
		l.Port = h.Port
	}
	if l.KeyFile == "" && !l.NoKey {
		l.KeyFile = h.KeyFile
	}
	return l
}

func (h *Host) sshArgs(knownHosts, cmd string) []string {
	return h.loginArgs(knownHosts, h.withDefaults(Login{}), cmd)
}

func (h *Host) loginArgs(knownHosts string, l Login, cmd string) []string {
	args := []string{
		"-F", "/dev/null", // none of the machine's or the user's ssh configuration
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "UpdateHostKeys=no",
		"-o", "ConnectTimeout=10",
		"-p", strconv.Itoa(l.Port),
		"-l", l.User,
	}
	if l.NoKey {
		args = append(args, "-o", "PubkeyAuthentication=no")
	} else {
		args = append(args, "-i", l.KeyFile)
	}
	return append(args, h.Addr, "--", cmd)
}

// withoutAgent drops SSH_AUTH_SOCK: the tests' logins use only the keys
// they name.
func withoutAgent(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			out = append(out, kv)
		}
	}
	return out
}

// KeyPair is an ed25519 key pair written to a test's directory.
type KeyPair struct {
	Private     string // path of the private key; Private+".pub" holds Public
	Public      string // the authorized_keys line, with the comment
	Fingerprint string // SHA256:...
}

// NewKeyPair writes a fresh key pair, dir/id_ed25519 and dir/id_ed25519.pub,
// whose public line ends with comment.
func NewKeyPair(t testing.TB, dir, comment string) KeyPair {
	t.Helper()
	k, err := writeKeyPair(dir, comment)
	if err != nil {
		t.Fatalf("testhost: key pair: %v", err)
	}
	return k
}

func writeKeyPair(dir, comment string) (KeyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return KeyPair{}, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return KeyPair{}, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return KeyPair{}, err
	}
	k := KeyPair{
		Private:     filepath.Join(dir, "id_ed25519"),
		Public:      strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " " + comment,
		Fingerprint: ssh.FingerprintSHA256(sshPub),
	}
	if err := os.WriteFile(k.Private, pem.EncodeToMemory(block), 0o600); err != nil {
		return KeyPair{}, err
	}
	return k, os.WriteFile(k.Private+".pub", []byte(k.Public+"\n"), 0o644)
}

// SSHCommand is the OpenSSH `ssh` command that SSH runs, not yet started:
// for callers that time it or run many at once.
func (h *Host) SSHCommand(t testing.TB, cmd string) *exec.Cmd {
	t.Helper()
	c := exec.Command("ssh", h.sshArgs(h.KnownHostsFile(t), cmd)...)
	c.Env = withoutAgent(os.Environ())
	return c
}
