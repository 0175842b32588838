package hosts

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoTCPConnection is matched by a Dial error when no TCP connection was
// made: refused, timed out (a firewall that drops) or no route. SSH never
// started, so no host key was seen and no login tried: a caller may try
// another port without hiding a key or login problem.
var ErrNoTCPConnection = errors.New("no TCP connection")

// ErrConnectionRefused is matched (errors.Is) by a Dial error when the TCP
// connection was actively refused: nothing listens on that port. It is one
// kind of ErrNoTCPConnection, and matches it too.
var ErrConnectionRefused error = refused{}

type refused struct{}

func (refused) Error() string        { return "connection refused" }
func (refused) Is(target error) bool { return target == ErrNoTCPConnection }

// ValidateError: the Validate command failed; the target was not touched.
type ValidateError struct {
	Command string // the Validate template as configured (with %s)
	Result  Result
}

func (e *ValidateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "validate command %q failed with exit code %d; the target was not changed", e.Command, e.Result.ExitCode)
	if out := strings.TrimSpace(string(e.Result.Stderr) + "\n" + string(e.Result.Stdout)); out != "" {
		b.WriteString(": ")
		b.WriteString(out)
	}
	return b.String()
}

// UnknownHostKeyError: the host's key is not in known_hosts and
// AcceptNewHostKeys was not set. The connection was not used.
type UnknownHostKeyError struct {
	Host, HostPort, KeyType, Fingerprint, KnownHostsFile string
}

func (e *UnknownHostKeyError) Error() string {
	return fmt.Sprintf("host %q (%s): unknown host key %s %s (not in %s). "+
		"Check the fingerprint on the host itself, e.g. on its console: `ssh-keygen -lf %s`, "+
		"then re-run with -accept-host-key %s=SHA256:... (the fingerprint the console shows) to record exactly that key, "+
		"or with -accept-new-host-keys (or add the key to %s)",
		e.Host, e.HostPort, e.KeyType, e.Fingerprint, e.KnownHostsFile,
		hostKeyPubFile(e.KeyType), e.Host, e.KnownHostsFile)
}

// HostKeyChangedError: the host presented a key that differs from the one in
// known_hosts. Never accepted automatically, also not with AcceptNewHostKeys.
type HostKeyChangedError struct {
	Host, HostPort, KeyType, Fingerprint, KnownHostsFile string
	KnownAt                                              []string // "file:line" of the entries that no longer match
	Known                                                []string // those entries: "file:line: <known_hosts line>  (<key type> <fingerprint>)"
	// OtherPort: this port has no entry, and the entries that do not
	// match are those of the host's other ports (its bootstrap port).
	OtherPort bool
	// CertAuthority: every entry in Known is a @cert-authority line: the
	// host is trusted through certificates its CA signed, and presented a
	// plain key instead.
	CertAuthority bool
}

func (e *HostKeyChangedError) Error() string {
	if e.CertAuthority {
		where := "this host"
		if e.OtherPort {
			where = "this host's other SSH port"
		}
		return fmt.Sprintf("host %q (%s): HOST KEY NOT TRUSTED, refusing to connect: this port presents the plain host key %s %s, "+
			"but known_hosts trusts %s only through a certificate authority, whose signed host certificate it must present:\n    %s\n"+
			"Another machine may be answering here, or the host lost its certificate (e.g. a reflashed SD card). "+
			"If that is expected, check the fingerprint on the host's console (`ssh-keygen -lf %s`), then re-run with -reprovision %s",
			e.Host, e.HostPort, e.KeyType, e.Fingerprint, where, strings.Join(e.Known, "\n    "), hostKeyPubFile(e.KeyType), e.Host)
	}
	if e.OtherPort {
		return fmt.Sprintf("host %q (%s): HOST KEY DIFFERS from the one recorded for this host's other SSH port, refusing to connect: "+
			"this port presents %s %s; known_hosts has for the host:\n    %s\n"+
			"One machine has the same host key on every port, so another machine is answering here: "+
			"someone may have blocked the host's port to make hako fall back to this one (its key is not recorded, "+
			"also not with -accept-new-host-keys), or the host was reinstalled (e.g. a reflashed SD card). "+
			"If the change is expected, check the new fingerprint on the host's console (`ssh-keygen -lf %s`), "+
			"then re-run with -reprovision %s",
			e.Host, e.HostPort, e.KeyType, e.Fingerprint, strings.Join(e.Known, "\n    "),
			hostKeyPubFile(e.KeyType), e.Host)
	}
	return fmt.Sprintf("host %q (%s): HOST KEY CHANGED, refusing to connect: the host now presents %s %s, "+
		"which does not match the key recorded in known_hosts:\n    %s\n"+
		"Someone may be intercepting the connection (man-in-the-middle), "+
		"or the host was reinstalled (e.g. a reflashed SD card). hako never replaces a known key by itself: "+
		"if the change is expected, check the new fingerprint on the host's console (`ssh-keygen -lf %s`), "+
		"then re-run with -reprovision %s (or remove the old entry with `ssh-keygen -R %s -f %s` and use -accept-new-host-keys)",
		e.Host, e.HostPort, e.KeyType, e.Fingerprint, strings.Join(e.Known, "\n    "),
		hostKeyPubFile(e.KeyType), e.Host, Quote(knownHostsName(e.HostPort)), Quote(e.KnownHostsFile))
}

// HostKeyReplacement says what Dial with Reprovision did to known_hosts.
type HostKeyReplacement struct {
	Old     []string // "<key type> <fingerprint>" of the keys removed
	New     string   // the same of the key recorded
	Removed int      // entries removed, on the host's ports
	From    []string // the files they were removed from
	File    string   // where the new key was recorded
}

func (r *HostKeyReplacement) String() string {
	from := r.File
	if len(r.From) > 0 {
		from = strings.Join(r.From, ", ")
	}
	return fmt.Sprintf("host key replaced (reprovision): old %s, new %s; %d entr%s of this host's ports removed from %s and the new key recorded in %s",
		strings.Join(r.Old, ", "), r.New, r.Removed, map[bool]string{true: "y", false: "ies"}[r.Removed == 1], from, r.File)
}

// HostKeyRecord is a known_hosts entry Dial added.
type HostKeyRecord struct {
	Key  string // "<key type> <fingerprint>"
	Name string // the entry's host field: "addr" or "[addr]:port"
	File string
}

func (r *HostKeyRecord) String() string {
	return fmt.Sprintf("recorded host key %s for %s in %s", r.Key, r.Name, r.File)
}

// HostKeyNotAcceptedError: the host presented a key other than the one
// whose fingerprint the user gave (AcceptHostKey). Nothing was recorded.
type HostKeyNotAcceptedError struct {
	Host, HostPort, KeyType, Fingerprint string
	Accepted                             string // the fingerprint given
}

func (e *HostKeyNotAcceptedError) Error() string {
	return fmt.Sprintf("host %q (%s): the host presents %s %s, not the key %s given with -accept-host-key: refusing to connect, nothing recorded. "+
		"Another machine may be answering, or the fingerprint given is of another key type: compare with `ssh-keygen -lf %s` on the host's console",
		e.Host, e.HostPort, e.KeyType, e.Fingerprint, e.Accepted, hostKeyPubFile(e.KeyType))
}

// HostKeyMismatchError: a connection that had to meet a host already
// verified on another port (ExpectHostKey) met a different key.
type HostKeyMismatchError struct {
	Host, HostPort, Expected, Got string
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("host %q (%s): the host key here, %s, is not the one verified on the first connection, %s: refusing to connect (is another machine answering on this port?)",
		e.Host, e.HostPort, e.Got, e.Expected)
}

// hostKeyPubFile names the file sshd keeps a key type's public half in, for
// the "check the fingerprint" hint.
func hostKeyPubFile(keyType string) string {
	switch {
	case strings.HasPrefix(keyType, "ecdsa-"):
		return "/etc/ssh/ssh_host_ecdsa_key.pub"
	case strings.HasPrefix(keyType, "ssh-rsa"), strings.HasPrefix(keyType, "rsa-"):
		return "/etc/ssh/ssh_host_rsa_key.pub"
	default:
		return "/etc/ssh/ssh_host_ed25519_key.pub"
	}
}

// tcpConnectError keeps the net error for the message and errors.Is/As
// while also matching kind: ErrNoTCPConnection or ErrConnectionRefused.
type tcpConnectError struct {
	msg  string
	kind error
	err  error
}

func (e *tcpConnectError) Error() string   { return e.msg }
func (e *tcpConnectError) Unwrap() []error { return []error{e.kind, e.err} }
