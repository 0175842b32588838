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
	return fmt.Sprintf("host %q (%s): unknown host key %s %s (not in %s): check `ssh-keygen -lf %s` on its console, "+
		"then use -accept-host-key %s=SHA256:... or -accept-new-host-keys",
		e.Host, e.HostPort, e.KeyType, e.Fingerprint, e.KnownHostsFile, hostKeyPubFile(e.KeyType), e.Host)
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
	known := strings.Join(e.Known, "\n    ")
	check := fmt.Sprintf("compare `ssh-keygen -lf %s` on the host's console, then re-run with -reprovision %s", hostKeyPubFile(e.KeyType), e.Host)
	if e.CertAuthority {
		where := "this host"
		if e.OtherPort {
			where = "this host's other SSH port"
		}
		return fmt.Sprintf("host %q (%s): HOST KEY NOT TRUSTED, refusing to connect: this port presents the plain key %s %s, "+
			"but known_hosts trusts %s only through a certificate authority:\n    %s\n"+
			"Another machine may be answering, or the host lost its certificate (a reflashed card?). If that is expected, %s",
			e.Host, e.HostPort, e.KeyType, e.Fingerprint, where, known, check)
	}
	if e.OtherPort {
		// Not recorded with -accept-new-host-keys either: whoever blocks
		// the host's port could otherwise have their key trusted here.
		return fmt.Sprintf("host %q (%s): HOST KEY DIFFERS from the one recorded for this host's other SSH port, refusing to connect: "+
			"this port presents %s %s; known_hosts has:\n    %s\n"+
			"A host has one key on all ports: another machine answers here (the host's port blocked to make hako fall back?), "+
			"or the host was reinstalled. If that is expected, %s",
			e.Host, e.HostPort, e.KeyType, e.Fingerprint, known, check)
	}
	return fmt.Sprintf("host %q (%s): HOST KEY CHANGED, refusing to connect: the host now presents %s %s, not the key in known_hosts:\n    %s\n"+
		"A man-in-the-middle, or a reflashed card? If that is expected, %s "+
		"(or `ssh-keygen -R %s -f %s`, then -accept-new-host-keys)",
		e.Host, e.HostPort, e.KeyType, e.Fingerprint, known, check, Quote(knownHostsName(e.HostPort)), Quote(e.KnownHostsFile))
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
	return fmt.Sprintf("host %q (%s): refused %s %s, not -accept-host-key's %s, nothing recorded: "+
		"another machine or key type? See `ssh-keygen -lf %s` on its console",
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
