package hosts

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// The host's other port (its bootstrap port) has a recorded key and this
// port has none: another key is refused, also with -accept-new-host-keys,
// and nothing is recorded. Whoever blocks the host's port and answers on
// the bootstrap port must not have their key recorded.
func TestOtherPortsKeyIsRequired(t *testing.T) {
	f := newFixture(t)
	old := newEd25519Signer(t) // the real machine's key, recorded for its port 2222
	content := knownHostsLine("127.0.0.1:2222", old.PublicKey()) + "\n"
	writeKnownHosts(t, f, content)
	f.cfg.AcceptNewHostKeys, f.cfg.HostPorts = true, []int{2222}
	_, err := Dial(t.Context(), f.cfg)
	var changed *HostKeyChangedError
	if !errors.As(err, &changed) || !changed.OtherPort {
		t.Fatalf("want HostKeyChangedError from the other port, got %v", err)
	}
	wantContains(t, err, "HOST KEY DIFFERS", ssh.FingerprintSHA256(f.srv.hostKeys[0].PublicKey()),
		ssh.FingerprintSHA256(old.PublicKey()), f.cfg.KnownHostsFile+":1: [127.0.0.1]:2222", "-reprovision box")
	if got := readFile(t, f.cfg.KnownHostsFile); got != content {
		t.Errorf("known_hosts changed:\n%s", got)
	}

	// Without HostPorts the same dial is a first contact, as before.
	f.cfg.HostPorts = nil
	f.dial(t).Close()
	if got := readFile(t, f.cfg.KnownHostsFile); !strings.Contains(got, knownHostsLine(f.srv.addr, f.srv.hostKeys[0].PublicKey())) {
		t.Errorf("known_hosts:\n%s", got)
	}
}

// The same machine on its other port: its recorded key is accepted (also
// without -accept-new-host-keys) and recorded for this port. The key type
// recorded there is negotiated, though the host offers another first.
func TestOtherPortsKeyIsAccepted(t *testing.T) {
	ed, ec := newEd25519Signer(t), newECDSASigner(t)
	f := newFixture(t, withHostKeys(ed, ec))
	writeKnownHosts(t, f, knownHostsLine("127.0.0.1:2222", ec.PublicKey())+"\n")
	f.cfg.HostPorts = []int{2222}
	h := f.dial(t)
	if got := ssh.FingerprintSHA256(h.HostKey()); got != ssh.FingerprintSHA256(ec.PublicKey()) {
		t.Errorf("host key %s, want the recorded ECDSA key", got)
	}
	want := knownHostsLine("127.0.0.1:2222", ec.PublicKey()) + "\n" + knownHostsLine(f.srv.addr, ec.PublicKey()) + "\n"
	if got := readFile(t, f.cfg.KnownHostsFile); got != want {
		t.Errorf("known_hosts:\n%s\nwant:\n%s", got, want)
	}
}

// -reprovision: a key that differs from the other port's replaces the
// entries of both ports.
func TestReprovisionReplacesOtherPortsKey(t *testing.T) {
	f := newFixture(t)
	old := newEd25519Signer(t)
	forwarded := knownHostsLine("127.0.0.1:2201", old.PublicKey()) // another machine: stays
	writeKnownHosts(t, f, knownHostsLine("127.0.0.1:2222", old.PublicKey())+"\n"+forwarded+"\n")
	f.cfg.HostPorts, f.cfg.Reprovision = []int{2222}, true
	h := f.dial(t)
	if h.Replaced == nil || h.Replaced.Removed != 1 || len(h.Replaced.Old) != 1 || !strings.Contains(h.Replaced.Old[0], ssh.FingerprintSHA256(old.PublicKey())) {
		t.Fatalf("replaced %+v", h.Replaced)
	}
	want := forwarded + "\n" + knownHostsLine(f.srv.addr, f.srv.hostKeys[0].PublicKey()) + "\n"
	if got := readFile(t, f.cfg.KnownHostsFile); got != want {
		t.Errorf("known_hosts:\n%s\nwant:\n%s", got, want)
	}
}
