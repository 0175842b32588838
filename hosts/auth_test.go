package hosts

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// wrongKeys writes n keys the test server does not accept.
func wrongKeys(t *testing.T, dir string, n int) (files []string, privs []ed25519.PrivateKey) {
	t.Helper()
	for i := range n {
		_, priv := newEd25519(t)
		files = append(files, writeKeyFile(t, filepath.Join(dir, "id_wrong"+strconv.Itoa(i)), priv, ""))
		privs = append(privs, priv)
	}
	return files, privs
}

func fingerprint(t *testing.T, priv ed25519.PrivateKey) string {
	t.Helper()
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return describeKey(s.PublicKey())
}

// Every identity file is offered in order, not only the first.
func TestDialOffersEveryIdentityFile(t *testing.T) {
	f := newFixture(t)
	wrong, privs := wrongKeys(t, f.dir, 2)
	f.cfg.IdentityFiles = append(wrong, f.cfg.IdentityFiles[0])
	f.dial(t)
	want := []string{fingerprint(t, privs[0]), fingerprint(t, privs[1]), fingerprint(t, f.userPriv)}
	if got := f.srv.offeredKeys(); !slices.Equal(got, want) {
		t.Errorf("offered %q\nwant    %q", got, want)
	}
}

// With MaxAuthTries 1 the right identity file still gets in, although the
// agent holds other keys: the configured files come before the agent's.
func TestDialMaxAuthTriesConfiguredKeyFirst(t *testing.T) {
	f := newFixture(t, withMaxAuthTries(1))
	_, privs := wrongKeys(t, f.dir, 3)
	startAgent(t, privs[0], privs[1], privs[2])
	f.dial(t)
	if got := f.srv.offeredKeys(); len(got) != 1 || got[0] != fingerprint(t, f.userPriv) {
		t.Errorf("offered %q, want only the identity file's key", got)
	}
	// The limit is real: the right key after two wrong ones is cut off
	// (x/crypto's server, unlike sshd, lets MaxAuthTries refused keys go
	// uncounted before it counts).
	wrong, _ := wrongKeys(t, t.TempDir(), 2)
	f.cfg.IdentityFiles = append(wrong, f.cfg.IdentityFiles...)
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed")
}

// The order of the keys offered: certificates, identity files (through
// the agent when it holds them), the agent's other keys, then the
// encrypted identity files that need a passphrase.
func TestDialKeyOrder(t *testing.T) {
	ca := newEd25519Signer(t)
	f := newFixture(t) // accepts none of the keys below, nor the CA: every key is offered
	dir := f.dir
	_, keys := wrongKeys(t, dir, 5)
	plain := writeKeyFile(t, filepath.Join(dir, "id_plain"), keys[0], "")
	inAgent := writeKeyFile(t, filepath.Join(dir, "id_agent"), keys[1], "secret")
	encrypted := writeKeyFile(t, filepath.Join(dir, "id_enc"), keys[2], "secret")
	startAgent(t, keys[3], keys[1])
	// keys[4]'s certificate comes first, its plain key with the files
	certFile := writeCert(t, ca, keys[4], "tester", filepath.Join(dir, "c-cert.pub"))
	certKey := writeKeyFile(t, filepath.Join(dir, "id_cert"), keys[4], "")
	f.cfg.IdentityFiles = []string{plain, encrypted, inAgent, certKey}
	f.cfg.CertificateFiles = []string{certFile}
	f.cfg.Passphrase = func(string) ([]byte, error) { return nil, errors.New("must not be asked") }
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed", "asked for only if the server accepts the key")
	cert := readCertKey(t, certFile)
	want := []string{describeKey(cert), fingerprint(t, keys[0]), fingerprint(t, keys[1]), fingerprint(t, keys[4]),
		fingerprint(t, keys[3]), fingerprint(t, keys[2])}
	if got := f.srv.offeredKeys(); !slices.Equal(got, want) {
		t.Errorf("offered\n  %q\nwant\n  %q", got, want)
	}
}

func readCertKey(t *testing.T, path string) *ssh.Certificate {
	t.Helper()
	c, err := readCertificate(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeCert signs priv's public key as a user certificate for principal.
func writeCert(t *testing.T, ca ssh.Signer, priv ed25519.PrivateKey, principal, path string) string {
	t.Helper()
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	cert := &ssh.Certificate{Key: pub, CertType: ssh.UserCert, KeyId: "test", ValidPrincipals: []string{principal},
		ValidAfter: uint64(time.Now().Add(-time.Hour).Unix()), ValidBefore: uint64(time.Now().Add(time.Hour).Unix())}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDialPassphrase(t *testing.T) {
	f := newFixture(t)
	enc := writeKeyFile(t, filepath.Join(f.dir, "id_enc"), f.userPriv, "right horse")
	f.cfg.IdentityFiles = []string{enc}
	var asked atomic.Int32
	f.cfg.Passphrase = func(file string) ([]byte, error) {
		asked.Add(1)
		if file != enc {
			t.Errorf("asked for %q, want %q", file, enc)
		}
		return []byte("right horse"), nil
	}
	f.dial(t)
	f.dial(t) // a second connection (another host, a jump host) asks no more
	if n := asked.Load(); n != 1 {
		t.Errorf("passphrase asked %d times, want once", n)
	}
}

func TestDialPassphraseWrong(t *testing.T) {
	f := newFixture(t)
	enc := writeKeyFile(t, filepath.Join(f.dir, "id_enc"), f.userPriv, "right horse")
	f.cfg.IdentityFiles = []string{enc}
	f.cfg.Passphrase = func(string) ([]byte, error) { return []byte("wrong horse"), nil }
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, `host "box"`, "identity file "+enc+": the passphrase is wrong")
	if strings.Contains(err.Error(), "horse") {
		t.Errorf("the passphrase is in the error: %v", err)
	}
}

func TestDialPassphraseNoTerminal(t *testing.T) {
	f := newFixture(t)
	enc := writeKeyFile(t, filepath.Join(f.dir, "id_enc"), f.userPriv, "right horse")
	f.cfg.IdentityFiles = []string{enc}
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed", "identity file "+enc+" (passphrase-protected, not loaded in ssh-agent, and no terminal",
		"ssh-add "+enc)
}

// A key the server refuses is never decrypted: no prompt for it.
func TestDialPassphraseOnlyForAcceptedKey(t *testing.T) {
	f := newFixture(t)
	_, other := newEd25519(t)
	enc := writeKeyFile(t, filepath.Join(f.dir, "id_other"), other, "pw")
	f.cfg.IdentityFiles = []string{enc, f.cfg.IdentityFiles[0]}
	f.cfg.Passphrase = func(file string) ([]byte, error) {
		t.Errorf("asked for the passphrase of %s, which the server does not accept", file)
		return nil, errors.New("no")
	}
	f.dial(t)
}

// Typing a passphrase may take longer than ConnectTimeout.
func TestDialPassphraseOutlastsConnectTimeout(t *testing.T) {
	f := newFixture(t)
	f.cfg.ConnectTimeout = 2 * time.Second
	f.cfg.IdentityFiles = []string{writeKeyFile(t, filepath.Join(f.dir, "id_enc"), f.userPriv, "pw")}
	f.cfg.Passphrase = func(string) ([]byte, error) {
		time.Sleep(3 * time.Second)
		return []byte("pw"), nil
	}
	f.dial(t)
}

// CertificateFile: the server knows only the CA, not the key.
func TestDialCertificateFile(t *testing.T) {
	ca := newEd25519Signer(t)
	f := newFixture(t, withUserCA(ca.PublicKey()))
	_, priv := newEd25519(t)
	key := writeKeyFile(t, filepath.Join(f.dir, "id_user"), priv, "")
	f.cfg.IdentityFiles = []string{key}
	f.cfg.CertificateFiles = []string{writeCert(t, ca, priv, "tester", filepath.Join(f.dir, "user-cert.pub"))}
	f.dial(t)

	// the same certificate for an encrypted key: asked for, then used
	enc := writeKeyFile(t, filepath.Join(f.dir, "id_user_enc"), priv, "pw")
	f.cfg.IdentityFiles = []string{enc}
	f.cfg.Passphrase = func(string) ([]byte, error) { return []byte("pw"), nil }
	f.dial(t)

	// a certificate for another principal is refused
	f.cfg.IdentityFiles = []string{key}
	f.cfg.CertificateFiles = []string{writeCert(t, ca, priv, "mallory", filepath.Join(f.dir, "mallory-cert.pub"))}
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed", "certificate "+f.cfg.CertificateFiles[0]+" (ssh-ed25519-cert-v01@openssh.com")
}

// FILE-cert.pub beside an identity file is used, as OpenSSH does.
func TestDialCertificateBesideIdentityFile(t *testing.T) {
	ca := newEd25519Signer(t)
	f := newFixture(t, withUserCA(ca.PublicKey()))
	_, priv := newEd25519(t)
	key := writeKeyFile(t, filepath.Join(f.dir, "id_user"), priv, "")
	f.cfg.IdentityFiles = []string{key}
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed")
	writeCert(t, ca, priv, "tester", key+"-cert.pub")
	f.dial(t)
}

// startSSHAgent runs OpenSSH's ssh-agent on its own socket holding the
// given key files, and ends it (by PID) when the test does.
func startSSHAgent(t *testing.T, keyFiles ...string) string {
	t.Helper()
	bin, err := exec.LookPath("ssh-agent")
	if err != nil {
		t.Skip("ssh-agent is not installed")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command(bin, "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent made no socket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, k := range keyFiles {
		add := exec.Command("ssh-add", k)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add %s: %v\n%s", k, err, out)
		}
	}
	return sock
}

// IdentityAgent names an agent other than $SSH_AUTH_SOCK; "none" none.
func TestDialIdentityAgent(t *testing.T) {
	f := newFixture(t)
	sock := startSSHAgent(t, f.cfg.IdentityFiles[0])
	f.cfg.IdentityFiles = nil // the key is only in the agent
	f.cfg.IdentityAgent = sock
	f.dial(t)

	// $SSH_AUTH_SOCK names an agent without the key: IdentityAgent wins
	startAgent(t)
	f.dial(t)

	// "none": not even $SSH_AUTH_SOCK's agent, which holds the key now
	startAgent(t, f.userPriv)
	f.cfg.IdentityAgent = "none"
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed", "no ssh-agent (IdentityAgent none)")
	f.cfg.IdentityAgent = ""
	f.dial(t)
}
