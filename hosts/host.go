// Package hosts is hako's transport: one SSH connection per machine, commands
// multiplexed as sessions on it, and atomic file writes over SFTP.
package hosts

import (
	"context"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
)

// Result of a remote command. A non-zero exit is data, not an error.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
	// StdoutTruncated: the command printed more than MaxStdout bytes;
	// Stdout holds the first MaxStdout of them. Stderr keeps the last
	// MaxStderr bytes, after a line saying how many it dropped.
	StdoutTruncated bool
}

// Host is one connected machine. Safe for concurrent use.
type Host interface {
	Name() string
	// Run runs the shell script cmd (`sh` semantics); when the host uses
	// become it runs as root (or the become user) through sudo. The script goes to the
	// shell on standard input, never on a command line; its commands find
	// standard input empty.
	Run(ctx context.Context, cmd string) (Result, error)
	// WriteFile atomically replaces w.Path.
	WriteFile(ctx context.Context, w FileWrite) error
	// MakeDir makes sure d.Path is a directory with d's owner and mode.
	MakeDir(ctx context.Context, d Dir) error
	Close() error
}

// Endpoint is how a connection reaches a host, as lockout checks need it:
// the SSH port in use and the address the host sees the client come from.
type Endpoint struct {
	ClientAddr string // IP address, without port
	ServerAddr string // the host's address the client reached ("" when unknown)
	ServerPort int
}

// EndpointHost is implemented by hosts reached over a network connection.
type EndpointHost interface {
	Endpoint() Endpoint
}

// VerifiedHost is implemented by hosts whose identity was checked against
// known_hosts when they were dialled (SSHHost): what a run needs to log in
// again to the same machine and to tell the user what the dial recorded.
type VerifiedHost interface {
	// HostKey is the key the host proved it holds.
	HostKey() ssh.PublicKey
	// KnownHostsNote says what the dial did to known_hosts (a key recorded
	// on first contact, a reflashed host's key replaced); "" for nothing.
	KnownHostsNote() string
}

// FileWrite describes one atomic file replacement.
//
// hako is root on the host, so every folder from / to the file's must
// belong to root or to the file's owner and be writable by no one else
// (OpenSSH's StrictModes); where one belongs to the owner, the write is
// done as that user. Anything else is refused with an *UnsafePathError.
type FileWrite struct {
	Path    string      // absolute path on the host
	Content []byte      // never logged, never put into an error
	Mode    os.FileMode // permission bits (plus setuid/setgid/sticky), always applied, after the content
	Owner   string      // user name or numeric id; "" = leave as created (the writing user, or the folder's owner)
	Group   string      // likewise
	// Validate is an optional command containing %s, run on the temp file
	// before the rename (as whoever writes it); a non-zero exit aborts the
	// write. %s stands for "$1", the temp file's path, quoted by the shell.
	Validate string
}

// Dir describes a directory MakeDir ensures, under the same rule for the
// folders above it as FileWrite.
type Dir struct {
	Path    string      // absolute, clean
	Mode    os.FileMode // applied when SetMode (a new directory gets 0755 otherwise)
	SetMode bool
	Owner   string // user name or numeric id; "" = leave (new: whoever creates it)
	Group   string
}

// Config says how to reach one host over SSH.
type Config struct {
	Name           string   // the plan's host name, used in every error message
	Address        string   // IP or DNS name
	Port           int      // default 22
	User           string   // default: the local user name
	IdentityFiles  []string // "~/" expanded against $HOME; tried before the ssh-agent's other keys
	KnownHostsFile string   // default ~/.ssh/known_hosts; created (0600, parent 0700) if missing; new keys are recorded here
	// KnownHostsFiles are the user's further known_hosts files (ssh_config's
	// UserKnownHostsFile after the first), and GlobalKnownHostsFiles the
	// system-wide ones (GlobalKnownHostsFile): read after KnownHostsFile,
	// as OpenSSH reads them, each skipped when it does not exist. Nothing
	// is written to them, but Reprovision removes the host's old entries
	// from the user's files too.
	KnownHostsFiles       []string
	GlobalKnownHostsFiles []string
	Become                bool          // run commands and write files as root (or BecomeUser) through sudo
	AcceptNewHostKeys     bool          // OpenSSH accept-new: record unknown keys, never replace a changed one
	HashKnownHosts        bool          // record new keys under hashed names ("|1|salt|hash"), as OpenSSH's HashKnownHosts yes
	ConnectTimeout        time.Duration // default 10s; bounds TCP connect AND the SSH handshake together
	// ExpectHostKey, when set, is the only key accepted (it is recorded if
	// known_hosts has none for this port): a second connection to a host
	// already verified on another port must meet the same host.
	ExpectHostKey ssh.PublicKey
	// Reprovision accepts a changed host key for this host (a reflashed
	// card): the entries of the address on Port and HostPorts are removed
	// and the new key recorded. Dial reports it in SSHHost.Replaced.
	Reprovision bool
	// HostPorts are the host's other SSH ports (a bootstrap port). When
	// Port has no known_hosts entry but one of these has, only the keys
	// recorded there are accepted (the same machine has the same keys),
	// also with AcceptNewHostKeys. With Reprovision their entries are
	// replaced too. Entries for other ports of the same address (another
	// host behind a port forward) are neither trusted nor touched.
	HostPorts []int
	// AcceptHostKey, when set, is the SHA256 fingerprint ("SHA256:...",
	// as ssh-keygen -l prints it) of the only key this host may present:
	// the one the user read on the host's console. It is recorded on first
	// contact without AcceptNewHostKeys; any other key is refused and
	// nothing is recorded.
	AcceptHostKey string
	// IdentitiesOnly offers only the keys of IdentityFiles, also when the
	// ssh-agent holds others (ssh_config IdentitiesOnly).
	IdentitiesOnly bool
	// CertificateFiles are OpenSSH user certificates (ssh_config
	// CertificateFile), offered first, each with its private key from
	// IdentityFiles or the agent. Without them, FILE-cert.pub beside an
	// identity file FILE is used, as OpenSSH does.
	CertificateFiles []string
	// IdentityAgent is the agent's socket (ssh_config IdentityAgent,
	// expanded): "" uses $SSH_AUTH_SOCK, "none" no agent.
	IdentityAgent string
	// Passphrase asks for the passphrase of an encrypted identity file
	// that no agent holds, when the server accepts its key. hosts never
	// reads the terminal itself; nil (no terminal) leaves such files out,
	// and the auth error says to add them to ssh-agent. Each file is asked
	// for once per run; the passphrase is not kept.
	Passphrase func(file string) ([]byte, error)
	// Jumps are the jump hosts (ProxyJump), in the order they are reached:
	// the first is dialed directly, each next one through the one before,
	// and the host itself through the last. Each is checked against its
	// own known_hosts entry, as strictly as the host.
	Jumps []Config
	// ProxyCommand, when set (and there are no Jumps), is run locally with
	// `sh -c`; SSH is spoken over its standard input and output.
	ProxyCommand string
	// ServerAliveInterval and ServerAliveCountMax are OpenSSH's (from
	// ssh_config, else 15s and 3): a keepalive after each interval, and
	// the connection is closed after that many go unanswered, so a host
	// that vanished fails its commands instead of hanging them.
	ServerAliveInterval time.Duration
	ServerAliveCountMax int
	// Password, when set, is tried after the keys (a fresh card whose first
	// user has only a password). It is never logged or put in an error.
	Password string
	// CommandTimeout bounds each command Run starts (default 1h; negative:
	// none). A command still running then is killed and Run fails.
	CommandTimeout time.Duration

	// BecomeUser is the user become runs as ("" or "root": root).
	BecomeUser string
	// BecomePassword is fed to `sudo -S` when sudo asks the login user for
	// a password; without it such a host is refused at connect. It goes
	// only to sudo's standard input: never on a command line, in a log or
	// an error.
	BecomePassword string
}

const (
	defaultPort           = 22
	defaultConnectTimeout = 10 * time.Second
	defaultCommandTimeout = time.Hour // apt on a slow card takes minutes; an hour is stuck
	defaultKeepalive      = 15 * time.Second
	defaultKeepaliveCount = 3
	// maxSessions bounds concurrent exec sessions per connection: sshd's
	// MaxSessions defaults to 10 and the long-lived SFTP session takes one.
	maxSessions = 8
	// sftpServerPath is where Debian/Ubuntu/Raspberry Pi OS install it; with
	// become, or logged in as root, it is started as a command (through
	// sudo with become) instead of the sftp subsystem.
	sftpServerPath = "/usr/lib/openssh/sftp-server"
)
