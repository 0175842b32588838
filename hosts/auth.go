package hosts

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// keyAuth gathers every candidate key before the handshake: the identity
// files first (in order), then the agent's other keys. They all go into ONE
// PublicKeysCallback, because x/crypto uses only the first AuthMethod of each
// kind. Configured files come first since sshd's MaxAuthTries (6) cuts off a
// long agent list.
type keyAuth struct {
	signers []ssh.Signer
	sources []string // what was tried, for the auth-failure message
	agent   net.Conn // kept open until the handshake is done: agent keys sign through it
}

func loadKeyAuth(identityFiles []string, identitiesOnly bool, deadline time.Time) *keyAuth {
	a := &keyAuth{}
	agentSigners, agentSource := a.dialAgent(deadline)
	used := map[string]bool{}
	add := func(s ssh.Signer) {
		k := string(s.PublicKey().Marshal())
		if !used[k] {
			used[k] = true
			a.signers = append(a.signers, s)
		}
	}
	for _, f := range identityFiles {
		f = ExpandHome(f)
		pem, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				a.sources = append(a.sources, fmt.Sprintf("identity file %s (not found)", f))
			} else {
				a.sources = append(a.sources, fmt.Sprintf("identity file %s (%v)", f, err))
			}
			continue
		}
		s, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			// No prompting here: an encrypted key is usable only when the
			// agent holds it, so take the agent's signer in its place.
			if as := findSigner(agentSigners, missing.PublicKey); as != nil {
				add(as)
				a.sources = append(a.sources, fmt.Sprintf("identity file %s (%s, passphrase-protected, via ssh-agent)", f, describeKey(as.PublicKey())))
			} else {
				a.sources = append(a.sources, fmt.Sprintf("identity file %s (passphrase-protected and not loaded in ssh-agent)", f))
			}
			continue
		}
		if err != nil {
			a.sources = append(a.sources, fmt.Sprintf("identity file %s (unusable: %v)", f, err))
			continue
		}
		add(s)
		a.sources = append(a.sources, fmt.Sprintf("identity file %s (%s)", f, describeKey(s.PublicKey())))
	}
	if identitiesOnly {
		// The agent still signs for an encrypted identity file (above);
		// its other keys are not offered.
		a.sources = append(a.sources, "no other ssh-agent keys (IdentitiesOnly)")
		return a
	}
	for _, s := range agentSigners {
		add(s)
	}
	a.sources = append(a.sources, agentSource) // listed in the order tried
	return a
}

// dialAgent returns the agent's signers and a description of the agent.
func (a *keyAuth) dialAgent(deadline time.Time) ([]ssh.Signer, string) {
	sock, pipe := agentAddress(os.Getenv("SSH_AUTH_SOCK"), onWindows)
	if sock == "" {
		return nil, "ssh-agent (SSH_AUTH_SOCK not set)"
	}
	c, err := dialAgentAddr(sock, pipe, time.Until(deadline))
	if err != nil {
		return nil, fmt.Sprintf("ssh-agent (%v)", err)
	}
	_ = c.SetDeadline(deadline) // a hung agent must not outlive ConnectTimeout
	signers, err := agent.NewClient(c).Signers()
	if err != nil {
		c.Close()
		return nil, fmt.Sprintf("ssh-agent at %s (%v)", sock, err)
	}
	a.agent = c
	return signers, fmt.Sprintf("ssh-agent at %s (%d keys)", sock, len(signers))
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

func (a *keyAuth) describe() string {
	return strings.Join(a.sources, ", ")
}

func (a *keyAuth) close() {
	if a.agent != nil {
		a.agent.Close()
	}
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
