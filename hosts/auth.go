package hosts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// keyAuth gathers every candidate key before the handshake. They all go
// into ONE PublicKeysCallback, because x/crypto uses only the first
// AuthMethod of each kind: a second PublicKeys method would never be tried.
//
// The order is OpenSSH's with one change:
//  1. the certificates of CertificateFile, as OpenSSH;
//  2. the identity files, in the order given, each through the agent when
//     the agent holds its key (no passphrase needed), else from the file
//     when it is not encrypted; a certificate found beside an identity
//     file (FILE-cert.pub) just before its key;
//  3. the agent's other keys, unless IdentitiesOnly, as OpenSSH;
//  4. last, the encrypted identity files no agent holds: their passphrase
//     is asked only when the server would accept the key, as OpenSSH does.
//
// The change: OpenSSH offers all the agent's keys before identity files
// it does not hold; hako offers the configured files first. sshd counts
// every refused key against MaxAuthTries (6 by default), so an agent
// holding many keys makes OpenSSH fail with "Too many authentication
// failures" before it reaches the key configured for the host; the key
// named for the host is the one most likely to be right.
type keyAuth struct {
	signers []ssh.Signer
	sources []string // what was tried, for the auth-failure message
	agent   net.Conn // kept open until the handshake is done: agent keys sign through it

	// While a passphrase is asked for, the handshake's deadline is lifted
	// (the user may take longer than ConnectTimeout to type it).
	ctx      context.Context
	conn     net.Conn
	deadline time.Time
}

// keyFile is one identity file as loaded before the handshake.
type keyFile struct {
	path   string
	pub    ssh.PublicKey // nil when unknown
	signer ssh.Signer    // usable without a prompt (plain file or agent), or nil
	prompt *promptSigner // encrypted, no agent holds it, a passphrase can be asked
	certs  []ssh.Signer  // FILE-cert.pub, once paired with a signer
}

func loadKeyAuth(cfg Config, deadline time.Time) *keyAuth {
	a := &keyAuth{deadline: deadline}
	agentSigners, agentSource := a.dialAgent(cfg.IdentityAgent, deadline)
	used := map[string]bool{}
	add := func(s ssh.Signer) {
		k := string(s.PublicKey().Marshal())
		if !used[k] {
			used[k] = true
			a.signers = append(a.signers, s)
		}
	}

	var files []*keyFile
	for _, f := range cfg.IdentityFiles {
		if kf := a.loadIdentityFile(ExpandHome(f), agentSigners, cfg.Passphrase); kf != nil {
			files = append(files, kf)
		}
	}

	// 1. CertificateFile. OpenSSH looks for FILE-cert.pub beside the
	// identity files only when no CertificateFile is given.
	for _, cf := range cfg.CertificateFiles {
		cf = ExpandHome(cf)
		cert, err := readCertificate(cf)
		if err != nil {
			a.sources = append(a.sources, fmt.Sprintf("certificate %s (%v)", cf, err))
			continue
		}
		s := pairCertificate(cert, files, agentSigners)
		if s == nil {
			a.sources = append(a.sources, fmt.Sprintf("certificate %s (%s; its private key is in no identity file and not in ssh-agent)", cf, describeKey(cert)))
			continue
		}
		add(s)
		a.sources = append(a.sources, fmt.Sprintf("certificate %s (%s)", cf, describeKey(cert)))
	}
	if len(cfg.CertificateFiles) == 0 {
		for _, kf := range files {
			a.besideCertificate(kf)
		}
	}

	// 2. identity files usable without a prompt
	for _, kf := range files {
		if kf.signer == nil {
			continue
		}
		for _, c := range kf.certs {
			add(c)
		}
		add(kf.signer)
	}

	// 3. the agent's other keys
	if cfg.IdentitiesOnly {
		// The agent still signs for an identity file it holds (above);
		// its other keys are not offered.
		a.sources = append(a.sources, "no other ssh-agent keys (IdentitiesOnly)")
	} else {
		for _, s := range agentSigners {
			add(s)
		}
		a.sources = append(a.sources, agentSource)
	}

	// 4. encrypted identity files, asked for only if the server takes them
	for _, kf := range files {
		if kf.prompt == nil {
			continue
		}
		for _, c := range kf.certs {
			add(c)
		}
		add(kf.prompt)
	}
	return a
}

// loadIdentityFile reads one identity file and records what it offers.
func (a *keyAuth) loadIdentityFile(f string, agentSigners []ssh.Signer, ask func(string) ([]byte, error)) *keyFile {
	pem, err := os.ReadFile(f)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			a.sources = append(a.sources, fmt.Sprintf("identity file %s (not found)", f))
		} else {
			a.sources = append(a.sources, fmt.Sprintf("identity file %s (%v)", f, err))
		}
		return nil
	}
	kf := &keyFile{path: f}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		kf.pub = missing.PublicKey
		if kf.pub == nil {
			// An old PEM key does not reveal its public half without the
			// passphrase; OpenSSH reads FILE.pub for it, and so does hako.
			kf.pub = readPublicKey(f + ".pub")
		}
		if as := findSigner(agentSigners, kf.pub); as != nil {
			kf.signer = as
			a.sources = append(a.sources, fmt.Sprintf("identity file %s (%s, passphrase-protected, via ssh-agent)", f, describeKey(as.PublicKey())))
			return kf
		}
		switch {
		case ask == nil:
			a.sources = append(a.sources, fmt.Sprintf("identity file %s (passphrase-protected, not loaded in ssh-agent, and no terminal to ask for its passphrase: add it to the agent with `ssh-add %s`)", f, f))
			return kf
		case kf.pub == nil:
			a.sources = append(a.sources, fmt.Sprintf("identity file %s (passphrase-protected PEM key without %s.pub, so hako cannot tell which key it is before asking: add it to the agent with `ssh-add %s`, or put its public key beside it)", f, f, f))
			return kf
		}
		kf.prompt = &promptSigner{file: f, pem: pem, pub: kf.pub, ask: ask, auth: a}
		a.sources = append(a.sources, fmt.Sprintf("identity file %s (%s, passphrase-protected, asked for only if the server accepts the key)", f, describeKey(kf.pub)))
		return kf
	}
	if err != nil {
		a.sources = append(a.sources, fmt.Sprintf("identity file %s (unusable: %v)", f, err))
		return nil
	}
	kf.pub, kf.signer = s.PublicKey(), s
	a.sources = append(a.sources, fmt.Sprintf("identity file %s (%s)", f, describeKey(s.PublicKey())))
	return kf
}

// besideCertificate pairs FILE-cert.pub (or FILE-cert, as OpenSSH tries
// both) with the identity file's key.
func (a *keyAuth) besideCertificate(kf *keyFile) {
	var signer ssh.Signer = kf.signer
	if signer == nil && kf.prompt != nil {
		signer = kf.prompt
	}
	if signer == nil {
		return
	}
	for _, cf := range []string{kf.path + "-cert", kf.path + "-cert.pub"} {
		if _, err := os.Stat(cf); err != nil {
			continue
		}
		cert, err := readCertificate(cf)
		if err == nil && !bytes.Equal(cert.Key.Marshal(), signer.PublicKey().Marshal()) {
			err = errors.New("certifies another key than " + kf.path)
		}
		if err == nil {
			var cs ssh.Signer
			if cs, err = ssh.NewCertSigner(cert, signer); err == nil {
				kf.certs = append(kf.certs, cs)
				a.sources = append(a.sources, fmt.Sprintf("certificate %s (%s)", cf, describeKey(cert)))
				return
			}
		}
		a.sources = append(a.sources, fmt.Sprintf("certificate %s (%v)", cf, err))
		return
	}
}

// readCertificate reads an OpenSSH user certificate (ssh-keygen -s ...).
func readCertificate(path string) (*ssh.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("not an OpenSSH certificate: %w", err)
	}
	cert, ok := k.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("a plain %s public key, not a certificate", k.Type())
	}
	if cert.CertType != ssh.UserCert {
		return nil, errors.New("a host certificate, not a user certificate")
	}
	return cert, nil
}

func readPublicKey(path string) ssh.PublicKey {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil
	}
	return k
}

// pairCertificate finds the private key of cert among the identity files
// (asking no passphrase yet) and the agent's keys.
func pairCertificate(cert *ssh.Certificate, files []*keyFile, agentSigners []ssh.Signer) ssh.Signer {
	var candidates []ssh.Signer
	for _, kf := range files {
		if kf.signer != nil {
			candidates = append(candidates, kf.signer)
		} else if kf.prompt != nil {
			candidates = append(candidates, kf.prompt)
		}
	}
	candidates = append(candidates, agentSigners...)
	if s := findSigner(candidates, cert.Key); s != nil {
		if cs, err := ssh.NewCertSigner(cert, s); err == nil {
			return cs
		}
	}
	return nil
}

// dialAgent returns the agent's signers and a description of the agent.
// identityAgent is ssh_config's IdentityAgent, already expanded: "" for
// $SSH_AUTH_SOCK (on Windows, when unset: the OpenSSH agent's pipe),
// "none" for no agent, else the agent's socket or pipe.
func (a *keyAuth) dialAgent(identityAgent string, deadline time.Time) ([]ssh.Signer, string) {
	sock, pipe := agentAddress(os.Getenv("SSH_AUTH_SOCK"), onWindows)
	what := "ssh-agent"
	switch identityAgent {
	case "none":
		return nil, "no ssh-agent (IdentityAgent none)"
	case "":
		if sock == "" {
			return nil, "ssh-agent (SSH_AUTH_SOCK not set)"
		}
	default:
		sock, pipe = agentAddress(identityAgent, onWindows)
		what = "ssh-agent (IdentityAgent)"
	}
	c, err := dialAgentAddr(sock, pipe, time.Until(deadline))
	if err != nil {
		return nil, fmt.Sprintf("%s (%v)", what, err)
	}
	_ = c.SetDeadline(deadline) // a hung agent must not outlive ConnectTimeout
	signers, err := agent.NewClient(c).Signers()
	if err != nil {
		c.Close()
		return nil, fmt.Sprintf("%s at %s (%v)", what, sock, err)
	}
	a.agent = c
	return signers, fmt.Sprintf("%s at %s (%d keys)", what, sock, len(signers))
}

// methods are the keys (all in one callback: x/crypto uses only the first
// method of a kind), then the password if there is one.
func (a *keyAuth) methods(password string) []ssh.AuthMethod {
	m := []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return a.signers, nil })}
	if password != "" {
		a.sources = append(a.sources, "a password")
		m = append(m, ssh.Password(password))
	}
	return m
}

// attach names the connection being authenticated, whose deadline a
// passphrase prompt lifts.
func (a *keyAuth) attach(ctx context.Context, conn net.Conn) {
	a.ctx, a.conn = ctx, conn
}

// withoutDeadline runs f (a prompt) with the handshake's deadline lifted,
// then gives the handshake the time it had left.
func (a *keyAuth) withoutDeadline(f func()) error {
	if a.conn == nil {
		f()
		return nil
	}
	left := time.Until(a.deadline)
	_ = a.conn.SetDeadline(time.Time{})
	if a.agent != nil {
		_ = a.agent.SetDeadline(time.Time{})
	}
	f()
	a.deadline = time.Now().Add(left)
	_ = a.conn.SetDeadline(a.deadline)
	if a.agent != nil {
		_ = a.agent.SetDeadline(a.deadline)
	}
	// A cancellation during the prompt set a past deadline that the line
	// above replaced: set it again.
	if err := a.ctx.Err(); err != nil {
		_ = a.conn.SetDeadline(time.Unix(1, 0))
		return err
	}
	return nil
}

func (a *keyAuth) describe() string {
	return strings.Join(a.sources, ", ")
}

func (a *keyAuth) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

// promptSigner is an encrypted identity file that no agent holds. Its
// public key is known without the passphrase; the passphrase is asked for
// (through Config.Passphrase) only when the server accepts that key and a
// signature is needed, as OpenSSH does.
type promptSigner struct {
	file string
	pem  []byte
	pub  ssh.PublicKey
	ask  func(file string) ([]byte, error)
	auth *keyAuth
}

func (s *promptSigner) PublicKey() ssh.PublicKey { return s.pub }

func (s *promptSigner) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	return s.SignWithAlgorithm(rand, data, "")
}

func (s *promptSigner) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	var signer ssh.Signer
	var err error
	if perr := s.auth.withoutDeadline(func() { signer, err = unlockKey(s.file, s.pem, s.ask) }); perr != nil {
		return nil, perr
	}
	if err != nil {
		return nil, err
	}
	if algorithm == "" {
		return signer.Sign(rand, data)
	}
	as, ok := signer.(ssh.AlgorithmSigner)
	if !ok {
		return nil, fmt.Errorf("identity file %s: the key cannot sign with %s", s.file, algorithm)
	}
	return as.SignWithAlgorithm(rand, data, algorithm)
}

// unlocked holds the keys decrypted so far, by file and content, so that
// a run asks for each file's passphrase once however many hosts (and jump
// hosts) use it; a refused passphrase is remembered too and not asked for
// again. Only the decrypted key is kept, in memory; never the passphrase.
// The lock also keeps two prompts from sharing the terminal.
var unlocked = struct {
	sync.Mutex
	m map[string]unlockResult
}{m: map[string]unlockResult{}}

type unlockResult struct {
	signer ssh.Signer
	err    error
}

func unlockKey(file string, pem []byte, ask func(string) ([]byte, error)) (ssh.Signer, error) {
	sum := sha256.Sum256(pem)
	key := file + "\x00" + string(sum[:])
	unlocked.Lock()
	defer unlocked.Unlock()
	if r, ok := unlocked.m[key]; ok {
		return r.signer, r.err
	}
	var r unlockResult
	pass, err := ask(file)
	switch {
	case err != nil:
		r.err = fmt.Errorf("identity file %s is passphrase-protected and its passphrase could not be read (%v): add it to ssh-agent with `ssh-add %s`", file, err, file)
	case len(pass) == 0:
		r.err = fmt.Errorf("identity file %s is passphrase-protected and no passphrase was given: add it to ssh-agent with `ssh-add %s`", file, file)
	default:
		r.signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, pass)
		if err != nil {
			// x/crypto has no typed error for a wrong passphrase; its
			// message ("x509: decryption password incorrect") is kept.
			r.err = fmt.Errorf("identity file %s: the passphrase is wrong or the key is damaged (%v)", file, err)
		}
	}
	clear(pass)
	unlocked.m[key] = r
	return r.signer, r.err
}

func findSigner(signers []ssh.Signer, pub ssh.PublicKey) ssh.Signer {
	if pub == nil {
		return nil // old PEM-encrypted keys do not reveal their public half
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			return s
		}
	}
	return nil
}

func describeKey(k ssh.PublicKey) string {
	if c, ok := k.(*ssh.Certificate); ok {
		return c.Type() + " " + ssh.FingerprintSHA256(c.Key) + " signed by CA " + ssh.FingerprintSHA256(c.SignatureKey)
	}
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// ExpandHome expands a leading "~/" (or a lone "~") against $HOME, as
// hosts does for identity and known_hosts files; other packages that name
// the same files use it too.
func ExpandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home := os.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return home + p[1:]
}
