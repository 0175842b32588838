package hosts

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// certAlgorithms are the host certificate algorithms asked for first when
// a @cert-authority line covers the host, as OpenSSH does: the CA's own
// key type says nothing about the type of the host keys it signed.
var certAlgorithms = []string{
	ssh.CertAlgoED25519v01,
	ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
}

// knownAlgorithms are the algorithms of the entries for hostport: all
// certificate algorithms first when a @cert-authority line covers it.
func knownAlgorithms(db *knownhosts.HostKeyDB, hostport string) []string {
	var algos []string
	if len(authorities(db, hostport)) > 0 {
		algos = append(algos, certAlgorithms...)
	}
	for _, a := range db.HostKeyAlgorithms(hostport) {
		if !strings.Contains(a, "-cert-") && !slices.Contains(algos, a) {
			algos = append(algos, a)
		}
	}
	return algos
}

// authorities are the CA keys of the @cert-authority lines covering hostport.
func authorities(db *knownhosts.HostKeyDB, hostport string) []ssh.PublicKey {
	var cas []ssh.PublicKey
	for _, k := range db.HostKeys(hostport) {
		if k.Cert {
			cas = append(cas, k.PublicKey)
		}
	}
	return cas
}

// lookupKey checks a plain host key against the entries for hostport.
// A host covered by a @cert-authority line is trusted through the
// certificates its CA signs: a plain key that no plain entry has is
// "changed" (the CA lines are among the entries it does not match, and
// changedError names them as certificate authorities), never unknown, so
// it is not recorded, also with -accept-new-host-keys. OpenSSH would take
// it as a new key; whoever answers in the host's place without its
// certificate gets no login. x/crypto would also take the CA's own key,
// presented as a plain host key, for a recorded one: it is none.
func lookupKey(db *knownhosts.HostKeyDB, hostport string, remote net.Addr, key ssh.PublicKey) error {
	err := db.HostKeyCallback()(hostport, remote, key)
	if err != nil {
		return err
	}
	isCA := false
	for _, ca := range authorities(db, hostport) {
		if bytes.Equal(ca.Marshal(), key.Marshal()) {
			isCA = true
		}
	}
	if !isCA {
		return nil
	}
	var want []xknownhosts.KnownKey
	for _, k := range db.HostKeys(hostport) {
		if !k.Cert && bytes.Equal(k.Marshal(), key.Marshal()) {
			return nil // also a plain entry of the host
		}
	}
	// Matched only as the CA: report the entries it does not match.
	var ke *xknownhosts.KeyError
	if errors.As(db.HostKeyCallback()(hostport, remote, fakeKey{}), &ke) {
		want = ke.Want
	}
	return &xknownhosts.KeyError{Want: want}
}

// fakeKey matches no entry: looking it up lists every entry for a host.
type fakeKey struct{}

func (fakeKey) Type() string                        { return "hako-no-key" }
func (fakeKey) Marshal() []byte                     { return []byte("hako-no-key") }
func (fakeKey) Verify([]byte, *ssh.Signature) error { return errors.New("no key") }

// plainKey is the key a certificate certifies, or k itself.
func plainKey(k ssh.PublicKey) ssh.PublicKey {
	if cert, ok := k.(*ssh.Certificate); ok {
		return cert.Key
	}
	return k
}

// checkCert accepts an OpenSSH host certificate as OpenSSH does: signed by
// the key of a @cert-authority line whose pattern covers the host, naming
// the host among its principals (patterns with * and ? allowed), within
// its validity dates, and neither it nor its CA @revoked. A certificate
// from a CA that no line covers is checked as the plain key it certifies
// (lookupKey: known, unknown, or not trusted when another CA covers the
// host). Unlike OpenSSH, which takes a certificate that names no principal
// at all as valid for every host, hako refuses it: whoever holds such a
// certificate could stand in for any machine the CA covers.
func (c *hostKeyChecker) checkCert(hostname string, remote net.Addr, cert *ssh.Certificate) error {
	where := fmt.Sprintf("host %q (%s)", c.name, c.hostport)
	if cert.CertType != ssh.HostCert {
		return refusedf("%s: the host presented a user certificate as its host key, refusing to connect", where)
	}
	cb := c.db.HostKeyCallback()
	for _, k := range []ssh.PublicKey{cert.Key, cert.SignatureKey} {
		var revoked *xknownhosts.RevokedError
		if errors.As(cb(hostname, remote, k), &revoked) {
			return refusedf("%s: host certificate for %s %s: key %s %s is marked @revoked at %s:%d, refusing to connect",
				where, cert.Key.Type(), ssh.FingerprintSHA256(cert.Key), k.Type(), ssh.FingerprintSHA256(k), c.kh.realName(revoked.Revoked.Filename), revoked.Revoked.Line)
		}
	}
	trusted := false
	for _, ca := range authorities(c.db, hostname) {
		if bytes.Equal(ca.Marshal(), cert.SignatureKey.Marshal()) {
			trusted = true
		}
	}
	if !trusted {
		return c.checkKey(hostname, remote, cert.Key)
	}
	if c.expect != nil && !bytes.Equal(plainKey(c.expect).Marshal(), cert.Key.Marshal()) {
		return &HostKeyMismatchError{Host: c.name, HostPort: c.hostport,
			Expected: describeHostKey(plainKey(c.expect)), Got: describeHostKey(cert.Key)}
	}
	bad := func(why string) error {
		return refusedf("%s: host certificate %q (%s %s, signed by the CA %s %s in %s) %s, refusing to connect",
			where, cert.KeyId, cert.Key.Type(), ssh.FingerprintSHA256(cert.Key),
			cert.SignatureKey.Type(), ssh.FingerprintSHA256(cert.SignatureKey), c.filesRead(), why)
	}
	host, _, err := net.SplitHostPort(hostname)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if len(cert.ValidPrincipals) == 0 {
		return bad("names no host (no principals)")
	}
	principal := ""
	for _, p := range cert.ValidPrincipals {
		if matchPattern(host, p) {
			principal = p
			break
		}
	}
	if principal == "" {
		return bad(fmt.Sprintf("is for %s, not for %s", strings.Join(cert.ValidPrincipals, ", "), host))
	}
	// The dates, the critical options (a host certificate has none that
	// hako knows) and the CA's signature. The principal passed is the one
	// that matched, so that a pattern principal is found in the list.
	var checker ssh.CertChecker
	if err := checker.CheckCert(principal, cert); err != nil {
		return bad(strings.TrimPrefix(err.Error(), "ssh: "))
	}
	return nil
}

// matchPattern matches s against an OpenSSH pattern: * is any run of
// characters, ? any one; everything else stands for itself. The patterns
// are a certificate's principals, read before its signature is checked:
// whoever answers in the host's place writes them. So no backtracking
// over every star (OpenSSH's recursion, exponential in the stars: 12 of
// them against a 60-character name would run for years): on a mismatch
// only the last star takes one more character, which is enough for * and
// ?, in at most len(s)*len(pattern) steps.
func matchPattern(s, pattern string) bool {
	p, i := 0, 0
	star, starI := -1, 0 // the last * seen, and where in s it stopped
	for i < len(s) || p < len(pattern) {
		if p < len(pattern) {
			switch c := pattern[p]; {
			case c == '*':
				star, starI = p, i
				p++
				continue
			case i < len(s) && (c == '?' || c == s[i]):
				p, i = p+1, i+1
				continue
			}
		}
		if star < 0 || starI >= len(s) {
			return false
		}
		starI++
		p, i = star+1, starI
	}
	return true
}

// HostKeyRefusedError: the host's key or certificate is refused for what
// known_hosts says about it (@revoked, or a certificate not valid for the
// host). Never accepted, also not with AcceptNewHostKeys or Reprovision.
type HostKeyRefusedError struct{ msg string }

func (e *HostKeyRefusedError) Error() string { return e.msg }

func refusedf(format string, args ...any) error {
	return &HostKeyRefusedError{msg: fmt.Sprintf(format, args...)}
}
