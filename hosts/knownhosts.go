package hosts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// preferredHostKeyAlgos is the order offered for a host with no known key.
// x/crypto's default puts ECDSA first; ed25519 first means that is the key
// that gets recorded on first contact, like OpenSSH does.
var preferredHostKeyAlgos = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// knownHostsMu serialises appends to known_hosts files from parallel dials
// in this process (re-check, then append).
var knownHostsMu sync.Mutex

// hostKeyChecker verifies the server's key strictly against known_hosts
// files, as OpenSSH does: all of them are read, new keys are written to the
// first (file).
type hostKeyChecker struct {
	name, hostport, file string
	more                 []string // the user's further known_hosts files: read, and reprovisioning removes from them too
	global               []string // the system-wide ones: only read
	acceptNew            bool
	expect               ssh.PublicKey // ExpectHostKey
	acceptFP             string        // AcceptHostKey: the fingerprint of the only key accepted
	reprovision          bool
	hash                 bool  // write new entries hashed (HashKnownHosts)
	ports                []int // the host's SSH ports (this one first): they must agree, and reprovisioning replaces their entries
	db                   *knownhosts.HostKeyDB
	kh                   *knownHostsFiles    // what db was read from
	seen                 ssh.PublicKey       // the key the host presented
	replaced             *HostKeyReplacement // what reprovisioning did
	recorded             *HostKeyRecord      // the entry this dial added
}

// newHostKeyChecker reads file (created if missing), then the user's more
// files and the global ones, those that exist.
func newHostKeyChecker(name, hostport, file string, acceptNew bool, more, global []string) (*hostKeyChecker, error) {
	if err := ensureKnownHostsFile(file); err != nil {
		return nil, fmt.Errorf("host %q (%s): known_hosts: %w", name, hostport, err)
	}
	c := &hostKeyChecker{name: name, hostport: hostport, file: file, more: more, global: global, acceptNew: acceptNew}
	kh, err := loadKnownHosts(c.files()...)
	if err != nil {
		return nil, fmt.Errorf("host %q (%s): read known_hosts: %w", name, hostport, err)
	}
	c.kh, c.db = kh, kh.db
	return c, nil
}

// files are all the known_hosts files, in the order OpenSSH reads them.
func (c *hostKeyChecker) files() []string {
	return append(append([]string{c.file}, c.more...), c.global...)
}

// filesRead names the files the keys were read from, for messages.
func (c *hostKeyChecker) filesRead() string {
	if c.kh == nil || len(c.kh.read) == 0 {
		return c.file
	}
	return strings.Join(c.kh.read, ", ")
}

// ensureKnownHostsFile creates an empty file (0600, parent 0700) so that a
// first run on a fresh machine can record keys instead of failing.
func ensureKnownHostsFile(file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// algorithms puts the algorithms of the keys on record first. Otherwise the
// client's own preference may negotiate a key type that is not on record and
// report a false "key mismatch" (x/crypto does not order them itself). The other algorithms stay
// in the list after them: a host that stopped offering its recorded key type
// must fail as "changed", not slip through as "unknown".
func (c *hostKeyChecker) algorithms() []string {
	algos := knownAlgorithms(c.db, c.hostport)
	if len(algos) == 0 && c.expect == nil {
		// A port with no entry must meet the key of the host's other
		// ports (pinnedCheck): ask for those key types first.
		for _, hp := range c.otherPorts() {
			for _, a := range knownAlgorithms(c.db, hp) {
				if !slices.Contains(algos, a) {
					algos = append(algos, a)
				}
			}
		}
	}
	for _, a := range preferredHostKeyAlgos {
		if !slices.Contains(algos, a) {
			algos = append(algos, a)
		}
	}
	return algos
}

// check is the ssh.HostKeyCallback. Its first argument, the address Dial
// gave ssh.NewClientConn, is left unused: it is spelled as the plan wrote
// it ("Pi.local:22"), and the host is looked up by c.hostport instead, the
// same address in lower case, as OpenSSH writes, hashes and matches host
// names: the name the plan wrote must meet the entry ssh made ("pi.local").
func (c *hostKeyChecker) check(_ string, remote net.Addr, key ssh.PublicKey) error {
	hostname := c.hostport
	c.seen = key
	if cert, ok := key.(*ssh.Certificate); ok {
		return c.checkCert(hostname, remote, cert)
	}
	return c.checkKey(hostname, remote, key)
}

// checkKey checks a plain host key (also the key inside a certificate that
// no @cert-authority line vouches for).
func (c *hostKeyChecker) checkKey(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if c.expect != nil && !bytes.Equal(plainKey(c.expect).Marshal(), key.Marshal()) {
		return &HostKeyMismatchError{Host: c.name, HostPort: c.hostport,
			Expected: describeHostKey(plainKey(c.expect)), Got: describeHostKey(key)}
	}
	if c.acceptFP != "" && ssh.FingerprintSHA256(key) != c.acceptFP {
		return &HostKeyNotAcceptedError{Host: c.name, HostPort: c.hostport, KeyType: key.Type(),
			Fingerprint: ssh.FingerprintSHA256(key), Accepted: c.acceptFP}
	}
	err := lookupKey(c.db, hostname, remote, key)
	switch {
	case err == nil:
		return nil
	case knownhosts.IsHostKeyChanged(err) && c.reprovision:
		return c.replace(err, hostname, remote, key)
	case knownhosts.IsHostKeyChanged(err):
		return c.changedError(err, key)
	case knownhosts.IsHostUnknown(err) && c.expect == nil && len(c.ports) > 1:
		return c.pinnedCheck(hostname, remote, key)
	case knownhosts.IsHostUnknown(err):
		return c.unknown(hostname, remote, key)
	}
	var revoked *xknownhosts.RevokedError
	if errors.As(err, &revoked) {
		return refusedf("host %q (%s): host key %s %s is marked @revoked at %s:%d, refusing to connect",
			c.name, c.hostport, key.Type(), ssh.FingerprintSHA256(key), c.kh.realName(revoked.Revoked.Filename), revoked.Revoked.Line)
	}
	return fmt.Errorf("host %q (%s): host key check: %w", c.name, c.hostport, err)
}

// unknown handles a key known_hosts has no entry for on any of the host's
// ports: recorded with -accept-new-host-keys (or ExpectHostKey, or
// reprovisioning, or -accept-host-key, whose fingerprint check already
// passed), refused otherwise.
func (c *hostKeyChecker) unknown(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if !c.acceptNew && c.expect == nil && !c.reprovision && c.acceptFP == "" {
		return &UnknownHostKeyError{Host: c.name, HostPort: c.hostport, KeyType: key.Type(),
			Fingerprint: ssh.FingerprintSHA256(key), KnownHostsFile: c.file}
	}
	return c.record(hostname, remote, key)
}

// otherPorts are the host's other SSH ports (HostPorts) as known_hosts
// names them, in lower case like c.hostport.
func (c *hostKeyChecker) otherPorts() []string {
	return slices.DeleteFunc(c.addrOn(c.ports[1:]), func(hp string) bool { return hp == c.hostport })
}

// addrOn is the host's address on each of ports ("addr:port", lower case
// like c.hostport), each once.
func (c *hostKeyChecker) addrOn(ports []int) []string {
	host, _, _ := net.SplitHostPort(c.hostport)
	var hps []string
	for _, p := range ports {
		if hp := net.JoinHostPort(host, strconv.Itoa(p)); !slices.Contains(hps, hp) {
			hps = append(hps, hp)
		}
	}
	return hps
}

// pinnedCheck decides on a key this port has no entry for, when the host
// has other ports (a bootstrap port). One machine has one set of host keys
// whatever port sshd listens on: if any of those ports has a recorded key,
// only a recorded key is accepted here (and recorded for this port too,
// as ExpectHostKey does), also with -accept-new-host-keys. Otherwise
// whoever can make the host's port unreachable and answer on the
// bootstrap port would have their key recorded, and receive the probes,
// secrets and bootstrap password of the run. A reflashed host (new keys)
// needs reprovisioning, which replaces the entries of every port.
func (c *hostKeyChecker) pinnedCheck(hostname string, remote net.Addr, key ssh.PublicKey) error {
	var known []xknownhosts.KnownKey
	for _, hp := range c.otherPorts() {
		err := lookupKey(c.db, hp, remote, key)
		if err == nil {
			return c.record(hostname, remote, key)
		}
		var ke *xknownhosts.KeyError
		if errors.As(err, &ke) {
			known = append(known, ke.Want...)
		}
	}
	if len(known) == 0 {
		return c.unknown(hostname, remote, key)
	}
	ke := &xknownhosts.KeyError{Want: known}
	if c.reprovision {
		return c.replace(ke, hostname, remote, key)
	}
	e := c.changedError(ke, key)
	e.OtherPort = true
	return e
}

// changedError describes the entries a changed key no longer matches. The
// entries are named by their real file: the database may have been read
// from a lower-cased copy of it (loadKnownHosts), with the same line
// numbers. KnownHostsFile is the file of the first of them, where the
// user would remove it.
func (c *hostKeyChecker) changedError(err error, key ssh.PublicKey) *HostKeyChangedError {
	var ke *xknownhosts.KeyError
	errors.As(err, &ke)
	// Name the entries of the same key type when there are any: those are
	// the ones that "no longer match". Otherwise the host switched key type.
	var same, all []xknownhosts.KnownKey
	for _, w := range ke.Want {
		all = append(all, w)
		if w.Key.Type() == key.Type() {
			same = append(same, w)
		}
	}
	if len(same) == 0 {
		same = all
	}
	e := &HostKeyChangedError{Host: c.name, HostPort: c.hostport, KeyType: key.Type(),
		Fingerprint: ssh.FingerprintSHA256(key), KnownHostsFile: c.file}
	cas := 0
	lines := fileLines{}
	for i, w := range same {
		file := c.kh.realName(w.Filename)
		if i == 0 {
			e.KnownHostsFile = file
		}
		at := fmt.Sprintf("%s:%d", file, w.Line)
		line := strings.TrimSpace(lines.at(file, w.Line))
		what := describeHostKey(w.Key)
		if marker, _, _, _ := splitKnownHostsLine(line); marker == "@cert-authority" {
			// Not the host's key: the key that signs its certificates.
			what, cas = "certificate authority "+what, cas+1
		}
		e.KnownAt = append(e.KnownAt, at)
		e.Known = append(e.Known, fmt.Sprintf("%s: %s  (%s)", at, line, what))
	}
	e.CertAuthority = cas == len(same)
	return e
}

func describeHostKey(k ssh.PublicKey) string { return k.Type() + " " + ssh.FingerprintSHA256(k) }

// fileLines holds the lines of the files it was asked about, each file
// read once.
type fileLines map[string][]string

// at is line n (1-based) of file, "" when it cannot be read.
func (fl fileLines) at(file string, n int) string {
	lines, ok := fl[file]
	if !ok {
		if b, err := os.ReadFile(file); err == nil {
			lines = strings.Split(string(b), "\n")
		}
		fl[file] = lines
	}
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

// splitKnownHostsLine splits a known_hosts line into its words: the
// marker (@cert-authority, @revoked, or "" without one), the host patterns
// ("" when the line ends after the marker) and the rest, the key's words
// (type, base64, then any comment). ok is false for a blank or comment
// line.
func splitKnownHostsLine(line string) (marker, patterns string, key []string, ok bool) {
	f := strings.Fields(line)
	if len(f) == 0 || strings.HasPrefix(f[0], "#") {
		return "", "", nil, false
	}
	if f[0] == "@cert-authority" || f[0] == "@revoked" {
		marker, f = f[0], f[1:]
	}
	if len(f) == 0 {
		return marker, "", nil, true
	}
	return marker, f[0], f[1:], true
}

// replace is reprovisioning: forget every key of this address, on any
// port, then record the one presented now.
func (c *hostKeyChecker) replace(err error, hostname string, remote net.Addr, key ssh.PublicKey) error {
	var ke *xknownhosts.KeyError
	errors.As(err, &ke)
	r := &HostKeyReplacement{New: describeHostKey(key), File: c.file}
	for _, w := range ke.Want {
		r.Old = append(r.Old, describeHostKey(w.Key))
	}
	var names []string
	for _, hp := range c.addrOn(c.ports) {
		names = append(names, knownHostsName(hp))
	}
	// From each of the user's files; an old key in a system-wide file
	// stays, and record below then refuses, naming that file.
	knownHostsMu.Lock()
	for i, f := range append([]string{c.file}, c.more...) {
		n, rerr := removeHostEntries(f, names)
		if i > 0 && errors.Is(rerr, fs.ErrNotExist) {
			continue
		}
		if rerr != nil {
			knownHostsMu.Unlock()
			return fmt.Errorf("host %q (%s): reprovision: remove old known_hosts entries from %s: %w", c.name, c.hostport, f, rerr)
		}
		r.Removed += n
		if n > 0 {
			r.From = append(r.From, f)
		}
	}
	knownHostsMu.Unlock()
	if err := c.record(hostname, remote, key); err != nil {
		return err
	}
	c.replaced = r
	return nil
}

// record appends an unknown key (accept-new). It re-reads the file under a
// lock first, so that a parallel dial which recorded a different key in the
// meantime turns this into a refusal rather than a second entry.
func (c *hostKeyChecker) record(hostname string, remote net.Addr, key ssh.PublicKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	kh, err := loadKnownHosts(c.files()...)
	if err != nil {
		return fmt.Errorf("host %q (%s): re-read known_hosts: %w", c.name, c.hostport, err)
	}
	c.kh, c.db = kh, kh.db // changedError names entries through kh
	err = lookupKey(kh.db, hostname, remote, key)
	switch {
	case err == nil:
		return nil
	case knownhosts.IsHostKeyChanged(err):
		return c.changedError(err, key)
	case !knownhosts.IsHostUnknown(err):
		return fmt.Errorf("host %q (%s): host key check: %w", c.name, c.hostport, err)
	}
	line := knownHostsLine(c.hostport, key)
	if c.hash {
		line = hashedKnownHostsLine(c.hostport, key)
	}
	if err := appendLine(c.file, line); err != nil {
		return fmt.Errorf("host %q (%s): record host key in %s: %w", c.name, c.hostport, c.file, err)
	}
	c.recorded = &HostKeyRecord{Key: describeHostKey(key), Name: knownHostsName(c.hostport), File: c.file}
	return nil
}

// knownHostsLine formats an entry the way OpenSSH writes it: a bare address
// for port 22, "[addr]:port" otherwise.
func knownHostsLine(hostport string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{hostport}, key)
}

// knownHostsName is the host field of an entry ("addr" or "[addr]:port").
func knownHostsName(hostport string) string {
	return knownhosts.Normalize(hostport)
}

// appendLine adds line to file, first ending a last line that lacks its
// newline (hand-edited files), which would otherwise corrupt both entries.
func appendLine(file, line string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err != nil && err != io.EOF {
			return err
		}
		if last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		return err
	}
	return f.Close()
}
