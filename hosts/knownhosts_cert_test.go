package hosts

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// certFixture is a server whose host key comes with a certificate signed
// by ca (the server offers both the plain key and the certificate).
type certFixture struct {
	*fixture
	ca, hostKey ssh.Signer
	cert        *ssh.Certificate
}

func newCertFixture(t *testing.T, edit func(c *ssh.Certificate)) *certFixture {
	t.Helper()
	ca, hostKey := newEd25519Signer(t), newEd25519Signer(t)
	cert := &ssh.Certificate{
		Key:             hostKey.PublicKey(),
		Serial:          7,
		CertType:        ssh.HostCert,
		KeyId:           "box-host",
		ValidPrincipals: []string{"127.0.0.1"},
		ValidAfter:      uint64(time.Now().Add(-time.Hour).Unix()),
		ValidBefore:     uint64(time.Now().Add(time.Hour).Unix()),
	}
	if edit != nil {
		edit(cert)
	}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	cs, err := ssh.NewCertSigner(cert, hostKey)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, withHostKeys(cs, hostKey))
	return &certFixture{fixture: f, ca: ca, hostKey: hostKey, cert: cert}
}

func (f *certFixture) caLine(pattern string) string {
	return "@cert-authority " + pattern + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(f.ca.PublicKey())))
}

// A host certificate signed by a CA of a @cert-authority line that covers
// the host is accepted with no entry for the host itself, and nothing is
// recorded (also with -accept-new-host-keys); a pattern principal counts.
func TestHostCertificateAccepted(t *testing.T) {
	for name, principals := range map[string][]string{
		"exact":    {"pi.example", "127.0.0.1"},
		"wildcard": {"127.0.0.*"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newCertFixture(t, func(c *ssh.Certificate) { c.ValidPrincipals = principals })
			content := f.caLine("127.0.0.*,pi.example") + "\n"
			writeKnownHosts(t, f.fixture, content)
			f.cfg.AcceptNewHostKeys = true
			h := f.dial(t)
			if _, ok := h.HostKey().(*ssh.Certificate); !ok {
				t.Errorf("the host's certificate was not the key checked: %s", h.HostKey().Type())
			}
			if got := readFile(t, f.cfg.KnownHostsFile); got != content {
				t.Errorf("known_hosts changed:\n%s", got)
			}
		})
	}
}

// A certificate that is not valid for this host is refused, and with
// -accept-new-host-keys nothing is recorded either: the certificate does
// not fall back to its plain key when its CA is trusted.
func TestHostCertificateRefused(t *testing.T) {
	now := time.Now()
	for name, tc := range map[string]struct {
		edit func(c *ssh.Certificate)
		want string
	}{
		"other principal": {func(c *ssh.Certificate) { c.ValidPrincipals = []string{"other.example", "127.0.0.2"} },
			"is for other.example, 127.0.0.2, not for 127.0.0.1"},
		"expired": {func(c *ssh.Certificate) {
			c.ValidAfter, c.ValidBefore = uint64(now.Add(-2*time.Hour).Unix()), uint64(now.Add(-time.Hour).Unix())
		}, "cert has expired"},
		"not yet valid": {func(c *ssh.Certificate) {
			c.ValidAfter = uint64(now.Add(time.Hour).Unix())
		}, "cert is not yet valid"},
		"critical option": {func(c *ssh.Certificate) {
			c.CriticalOptions = map[string]string{"force-command": "true"}
		}, `unsupported critical option "force-command"`},
	} {
		t.Run(name, func(t *testing.T) {
			f := newCertFixture(t, tc.edit)
			content := f.caLine(knownHostsName(f.srv.addr)) + "\n"
			writeKnownHosts(t, f.fixture, content)
			f.cfg.AcceptNewHostKeys = true
			_, err := Dial(t.Context(), f.cfg)
			var refused *HostKeyRefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("want HostKeyRefusedError, got %v", err)
			}
			wantContains(t, err, `host "box"`, `host certificate "box-host"`, ssh.FingerprintSHA256(f.ca.PublicKey()),
				f.cfg.KnownHostsFile, tc.want, "refusing to connect")
			if got := readFile(t, f.cfg.KnownHostsFile); got != content {
				t.Errorf("known_hosts changed:\n%s", got)
			}
		})
	}
}

// OpenSSH takes a host certificate without principals as valid for any
// host; hako refuses it. (x/crypto does not sign such a certificate, so
// the check is called directly: it stops before the signature.)
func TestHostCertificateWithoutPrincipals(t *testing.T) {
	f := newCertFixture(t, nil)
	writeKnownHosts(t, f.fixture, f.caLine(knownHostsName(f.srv.addr))+"\n")
	hk, err := newHostKeyChecker("box", f.srv.addr, f.cfg.KnownHostsFile, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert := *f.cert
	cert.ValidPrincipals = nil
	err = hk.checkCert(f.srv.addr, f.srv.ln.Addr(), &cert)
	wantContains(t, err, "names no host (no principals)", "refusing to connect")
	cert.ValidPrincipals = []string{"127.0.0.1"} // the same certificate, valid
	if err := hk.checkCert(f.srv.addr, f.srv.ln.Addr(), &cert); err != nil {
		t.Errorf("the valid certificate: %v", err)
	}
}

// @revoked on the CA or on the host's own key refuses the certificate.
func TestHostCertificateRevoked(t *testing.T) {
	for _, which := range []string{"ca", "host"} {
		t.Run(which, func(t *testing.T) {
			f := newCertFixture(t, nil)
			k := f.ca.PublicKey()
			if which == "host" {
				k = f.hostKey.PublicKey()
			}
			revoked := "@revoked * " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
			writeKnownHosts(t, f.fixture, f.caLine(knownHostsName(f.srv.addr))+"\n"+revoked+"\n")
			_, err := Dial(t.Context(), f.cfg)
			wantContains(t, err, "is marked @revoked at "+f.cfg.KnownHostsFile+":2", ssh.FingerprintSHA256(k))
		})
	}
}

// A certificate whose CA no @cert-authority line covers is checked as the
// plain key it certifies: with a CA line for other hosts only, it is
// unknown, then recorded with -accept-new-host-keys (the plain key), then
// known.
func TestHostCertificateOfAnotherCA(t *testing.T) {
	f := newCertFixture(t, nil)
	content := f.caLine("10.0.0.1") + "\n"
	writeKnownHosts(t, f.fixture, content)
	_, err := Dial(t.Context(), f.cfg)
	var unknown *UnknownHostKeyError
	if !errors.As(err, &unknown) || unknown.Fingerprint != ssh.FingerprintSHA256(f.hostKey.PublicKey()) {
		t.Fatalf("want UnknownHostKeyError for the plain key, got %v", err)
	}
	f.cfg.AcceptNewHostKeys = true
	f.dial(t).Close()
	want := content + knownHostsLine(f.srv.addr, f.hostKey.PublicKey()) + "\n"
	if got := readFile(t, f.cfg.KnownHostsFile); got != want {
		t.Errorf("known_hosts:\n got %q\nwant %q", got, want)
	}
	f.cfg.AcceptNewHostKeys = false
	f.dial(t).Close()
}

// A host that a @cert-authority line covers must present a certificate of
// that CA: a plain key, a certificate of another CA, or the CA's own key
// shown as a plain host key is refused as not trusted (the CA line named
// as such), also with -accept-new-host-keys, and nothing is recorded.
func TestCertAuthorityCoveredHostNeedsItsCertificate(t *testing.T) {
	certOfOther := newCertFixture(t, nil)
	plain := newFixture(t)
	for name, tc := range map[string]struct {
		f  *fixture
		ca ssh.PublicKey
	}{
		"plain key":               {plain, newEd25519Signer(t).PublicKey()},
		"CA's own key":            {plain, plain.srv.hostKeys[0].PublicKey()},
		"certificate of other CA": {certOfOther.fixture, newEd25519Signer(t).PublicKey()},
	} {
		t.Run(name, func(t *testing.T) {
			content := "@cert-authority " + knownHostsName(tc.f.srv.addr) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(tc.ca))) + "\n"
			writeKnownHosts(t, tc.f, content)
			tc.f.cfg.AcceptNewHostKeys = true
			_, err := Dial(t.Context(), tc.f.cfg)
			var changed *HostKeyChangedError
			if !errors.As(err, &changed) || !changed.CertAuthority {
				t.Fatalf("want HostKeyChangedError naming the certificate authority, got %v", err)
			}
			wantContains(t, err, "HOST KEY NOT TRUSTED", "certificate authority ssh-ed25519 "+ssh.FingerprintSHA256(tc.ca))
			if got := readFile(t, tc.f.cfg.KnownHostsFile); got != content {
				t.Errorf("known_hosts changed:\n%s", got)
			}
		})
	}
}

// With a CA line covering the host, the certificate algorithms are asked
// for first, whatever the CA's key type.
func TestCertAlgorithmsFirst(t *testing.T) {
	f := newFixture(t)
	ca := newECDSASigner(t)
	writeKnownHosts(t, f, "@cert-authority "+knownHostsName(f.srv.addr)+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca.PublicKey())))+"\n")
	hk, err := newHostKeyChecker("box", f.srv.addr, f.cfg.KnownHostsFile, false, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hk.ports = []int{f.srv.port}
	algos := hk.algorithms()
	if got := fmt.Sprint(algos[:len(certAlgorithms)]); got != fmt.Sprint(certAlgorithms) {
		t.Errorf("algorithms %v", algos)
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		s, p string
		want bool
	}{
		{"pi.example", "pi.example", true},
		{"pi.example", "*.example", true},
		{"pi.example", "p?.example", true},
		{"pi.example", "*", true},
		{"pi.example", "*.other", false},
		{"pi.example", "pi", false},
		{"pi", "pi.example", false},
		{"10.0.0.12", "10.0.0.1?", true},
		{"10.0.0.1", "10.0.0.1?", false},
		{"a.b.c", "a*c", true},
		{"", "*", true},
		{"", "?", false},
	} {
		if got := matchPattern(tc.s, tc.p); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v", tc.s, tc.p, got)
		}
	}
}
