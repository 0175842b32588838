package hosts

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// The host's other port is known by a hashed entry (HashKnownHosts yes):
// another key on this port is still refused with -accept-new-host-keys.
func TestPinOtherPortHashedEntryPins(t *testing.T) {
	f := newFixture(t)
	real := newEd25519Signer(t)
	hashed := xknownhosts.HashHostname(knownHostsName("127.0.0.1:2222"))
	content := hashed + " " + strings.SplitN(knownHostsLine("x", real.PublicKey()), " ", 2)[1] + "\n"
	writeKnownHosts(t, f, content)
	f.cfg.AcceptNewHostKeys, f.cfg.HostPorts = true, []int{2222}
	_, err := Dial(t.Context(), f.cfg)
	var changed *HostKeyChangedError
	if !errors.As(err, &changed) || !changed.OtherPort {
		t.Fatalf("want HostKeyChangedError from the hashed other-port entry, got %v", err)
	}
	if got := readFile(t, f.cfg.KnownHostsFile); got != content {
		t.Errorf("known_hosts changed:\n%s", got)
	}
}

// The host's other port is known by an upper-case entry: pinning and case
// folding together.
func TestPinOtherPortUpperCaseEntryPins(t *testing.T) {
	f := newFixture(t)
	f.cfg.Address = "localhost"
	real := newEd25519Signer(t)
	content := knownHostsLine("[LocalHost]:2222", real.PublicKey()) + "\n"
	writeKnownHosts(t, f, content)
	f.cfg.AcceptNewHostKeys, f.cfg.HostPorts = true, []int{2222}
	_, err := Dial(t.Context(), f.cfg)
	var changed *HostKeyChangedError
	if !errors.As(err, &changed) || !changed.OtherPort {
		t.Fatalf("want HostKeyChangedError from the upper-case other-port entry, got %v", err)
	}
	if got := readFile(t, f.cfg.KnownHostsFile); got != content {
		t.Errorf("known_hosts changed:\n%s", got)
	}
}

// The host's other port is trusted through a @cert-authority line (host
// certificates): a plain key on this port that no CA signed is refused,
// also with -accept-new-host-keys.
func TestPinOtherPortCertAuthorityPins(t *testing.T) {
	f := newFixture(t)
	ca := newEd25519Signer(t)
	content := "@cert-authority " + knownHostsLine("[127.0.0.1]:2222", ca.PublicKey()) + "\n"
	writeKnownHosts(t, f, content)
	f.cfg.AcceptNewHostKeys, f.cfg.HostPorts = true, []int{2222}
	h, err := Dial(t.Context(), f.cfg)
	if err == nil {
		h.Close()
		t.Fatalf("a plain key on the bootstrap port was trusted although the host's port is trusted through a CA; known_hosts now:\n%s",
			readFile(t, f.cfg.KnownHostsFile))
	}
	t.Logf("refused: %v", err)
}

// otherPorts with an IPv6 address.
func TestPinOtherPortsIPv6(t *testing.T) {
	c := &hostKeyChecker{hostport: "[fe80::1]:22", ports: []int{22, 50022, 22}}
	if got := fmt.Sprint(c.otherPorts()); got != "[[fe80::1]:50022]" {
		t.Errorf("otherPorts = %s", got)
	}
}

// When the other port is trusted through a @cert-authority line, the
// refusal names that key as the certificate authority, not as the host's
// recorded key.
func TestOtherPortCertAuthorityIsNamedAsSuch(t *testing.T) {
	f := newFixture(t)
	ca := newEd25519Signer(t)
	writeKnownHosts(t, f, "@cert-authority "+knownHostsLine("[127.0.0.1]:2222", ca.PublicKey())+"\n")
	f.cfg.AcceptNewHostKeys, f.cfg.HostPorts = true, []int{2222}
	_, err := Dial(t.Context(), f.cfg)
	var changed *HostKeyChangedError
	if !errors.As(err, &changed) || !changed.CertAuthority {
		t.Fatalf("want HostKeyChangedError naming a certificate authority, got %v", err)
	}
	wantContains(t, err, "HOST KEY NOT TRUSTED", "only through a certificate authority",
		"(certificate authority ssh-ed25519 "+ssh.FingerprintSHA256(ca.PublicKey())+")")
	if strings.Contains(err.Error(), "HOST KEY DIFFERS") {
		t.Errorf("the CA key is called the host's recorded key: %v", err)
	}
}
