package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/ssh"
)

// sudoer is how an SSHHost becomes its become user (root unless
// Config.BecomeUser says otherwise) through sudo: either `sudo -n`, where
// sudo asks for no password, or `sudo -S` with the password fed on
// standard input ahead of what the command reads.
//
// The password never goes on a command line (sudo writes those to the
// journal, ps shows them to every user), nor into an error. sudo -S reads
// exactly one line of its standard input, and only when it asks for a
// password; the command then reads the rest. So that a script can never
// start with the password line (a sudo that did not ask, e.g. a NOPASSWD
// rule for that one command), the command first reads a marker line and
// runs nothing unless it finds it right there. The marker is random per
// connection, so that no password can equal it (one that did would pass
// the check, and the marker would be run as the script's first line).
// `-k` makes sudo ask every time the rule wants a password, whatever
// credentials it cached.
type sudoer struct {
	user     string // "" : root
	password string // "" : sudo -n
	marker   string // the line that follows the password on standard input
	// trial: the first command, run before sudo is settled (see
	// becomeState): sudo -k -n, and trialMarker printed first.
	trial bool
}

// becomeNoPrompt is the exit status of a command whose sudo did not read
// the password line (nothing of it ran); becomeNoPromptMsg goes to stderr.
// The message holds no quote: it goes inside sh -c '...'.
const (
	becomeNoPrompt    = 97
	becomeNoPromptMsg = "hako: sudo ran this command without asking for the become password, so none of it was run: the sudoers rules must ask for a password for all of the commands hako runs, or for none"
)

// prefix is the start of every command line run through sudo. The empty
// prompt (-p with an empty argument) keeps sudo's prompt out of the
// command's output.
func (s *sudoer) prefix() string {
	p := "sudo -n "
	if s.trial {
		p = "sudo -k -n "
	}
	if s.password != "" {
		p = "sudo -k -S -p '' "
	}
	if s.user != "" && s.user != "root" {
		p += "-u " + Quote(s.user) + " "
	}
	return p + "-- "
}

// shell is `sh -c 'body'` (body holds no single quote); when a password
// is fed, body runs only after the marker line has been taken off
// standard input, and nothing runs when the first line is not the marker.
// A nil *sudoer (no become) is one without a password, here and in input
// and stdin.
func (s *sudoer) shell(body string) string {
	if s != nil && s.trial {
		return `sh -c 'echo ` + trialMarker + ` && ` + body + `'`
	}
	if s == nil || s.password == "" {
		return `sh -c '` + body + `'`
	}
	return `sh -c 'IFS= read -r l && [ "$l" = ` + s.marker + ` ] || { echo "` + becomeNoPromptMsg + `" >&2; exit ` +
		fmt.Sprint(becomeNoPrompt) + `; }; ` + body + `'`
}

// input is what goes to the command's standard input before its own:
// the password and the marker, or nothing.
func (s *sudoer) input() string {
	if s == nil || s.password == "" {
		return ""
	}
	return s.password + "\n" + s.marker + "\n"
}

// stdin is r with the password and the marker ahead of it.
func (s *sudoer) stdin(r io.Reader) io.Reader {
	if s == nil || s.password == "" {
		return r
	}
	return io.MultiReader(strings.NewReader(s.input()), r)
}

// sftpCommand starts sftp-server as the become user (a nil *sudoer: as
// the login user, root), with HAKO_CONN=conn in its environment (see
// SSHHost.conn), through a shell that first refuses when a guard has
// rolled back the connection's changes (see guardCheck): a server
// started after that would write unguarded. -u 077: created files start
// private; WriteFile sets the real mode.
func (s *sudoer) sftpCommand(conn string) string {
	prefix := ""
	if s != nil {
		prefix = s.prefix()
	}
	return prefix + "env HAKO_CONN=" + conn + " " + s.shell(guardCheck(conn)+
		"[ -x "+sftpServerPath+" ] || { echo \""+noSFTPServer+"\" >&2; exit 127; }; exec "+sftpServerPath+" -u 077")
}

// noSFTPServer is what sftpCommand prints when the host has no
// sftp-server where Debian puts it. It holds no quote, $ or backquote.
const noSFTPServer = "hako: no " + sftpServerPath + " on this host"

// errNoSFTPServer: sftpCommand found no sftp-server (see noSFTPServer).
var errNoSFTPServer = errors.New("no " + sftpServerPath + " on the host")

// ErrBecomePassword is wrapped by the errors of a host whose sudo asks
// for a password that hako does not have, or refuses the one it has.
var ErrBecomePassword = errors.New("sudo needs the become password")

// checkBecomePassword refuses, before anything is sent, a become password
// sudo cannot read.
func checkBecomePassword(cfg Config) error {
	if strings.ContainsAny(cfg.BecomePassword, "\r\n\x00") {
		return fmt.Errorf("host %q: become: the become password holds a line break or a NUL byte, which sudo cannot read (it reads one line)", cfg.Name)
	}
	return nil
}

// becomeState settles, once per connection, how sudo is run (SSHHost.sudo)
// before anything uses it. Most hosts' sudo asks for no password, so the
// first command does not wait for a check of its own: it runs at once
// through `sudo -k -n` and prints trialMarker first (see trialShell). The
// marker proves that sudo ran it, and settles sudo -n for the connection
// while the command goes on; without it sudo ran nothing, and setupBecome
// checks sudo as it would before any command (its verdict and messages,
// the password and its check), after which the command runs through the
// sudo it settled. Anything else that needs sudo settled first (the SFTP
// server, the writing user's id) waits for the trial, or runs setupBecome
// itself when it comes first.
type becomeState struct {
	cfg Config
	// turn is held by whoever settles: a trial command or setupBecome.
	turn    chan struct{}
	settled atomic.Bool // SSHHost.sudo and err are final
	err     error       // why become failed for good (read once settled)
}

func newBecomeState(cfg Config) *becomeState {
	return &becomeState{cfg: cfg, turn: make(chan struct{}, 1)}
}

// trialMarker is the line the trial command prints before its script:
// only a shell that sudo started prints it.
const trialMarker = "hako-sudo-ran"

// settle makes h.sudo final, or returns why become failed. When it
// returns trial true the caller holds the turn to settle by a trial
// command and must call finish or give up (nothing is settled yet).
func (h *SSHHost) settle(ctx context.Context, trial bool) (bool, error) {
	b := h.bst
	if b == nil || b.settled.Load() {
		return false, h.becomeErr()
	}
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("host %q: become: waiting for sudo to be checked: %w", h.name, ctx.Err())
	}
	if b.settled.Load() {
		<-b.turn
		return false, h.becomeErr()
	}
	if trial {
		return true, nil
	}
	defer func() { <-b.turn }()
	return false, h.setupBecome(ctx)
}

// becomeErr is why become failed, nil when it did not (or when the host
// has no become).
func (h *SSHHost) becomeErr() error {
	if h.bst == nil {
		return nil
	}
	return h.bst.err
}

// settleWith makes s (nil: failure err) final. Call it holding the turn.
func (h *SSHHost) settleWith(s *sudoer, err error) {
	h.sudo, h.bst.err = s, err
	h.bst.settled.Store(true)
}

// sudoNow is h.sudo for a caller that settled it.
func (h *SSHHost) sudoNow() *sudoer {
	if h.bst != nil && !h.bst.settled.Load() {
		panic("hosts: sudo used before it was settled")
	}
	return h.sudo
}

// trialSudoer is how the trial command runs: `sudo -k -n` (-k: see
// setupBecome) as the become user.
func (h *SSHHost) trialSudoer() *sudoer {
	return &sudoer{user: h.bst.cfg.BecomeUser, trial: true}
}

// setupBecome finds out whether sudo asks the login user for a password,
// and checks the password once when it does: with a wrong one sudo would
// read the next lines of standard input as further attempts. LC_ALL=C:
// sudo's messages are read here. It settles h.sudo, also when become
// fails for good (not when the connection or ctx failed); call it holding
// the turn.
func (h *SSHHost) setupBecome(ctx context.Context) error {
	cfg := h.bst.cfg
	s := &sudoer{user: cfg.BecomeUser}
	as := "root"
	if s.user != "" {
		as = fmt.Sprintf("user %q", s.user)
	}
	fail := func(err error) error {
		h.settleWith(nil, err)
		return err
	}
	// -k: the answer must hold for the whole run, so a timestamp sudo
	// cached for the login user (timestamp_type=global, a user's recent
	// sudo) must not make a host that asks for a password look as if it
	// asked for none, until the timestamp runs out in the middle of a run.
	code, stderr, err := h.runRaw(ctx, "LC_ALL=C sudo -k "+strings.TrimPrefix(s.prefix(), "sudo ")+"true", "")
	if err != nil {
		return fmt.Errorf("host %q: become: checking sudo: %w", h.name, err)
	}
	switch {
	case code == 0:
		h.settleWith(s, nil) // sudo asks for no password: sudo -n, and none is sent
		return nil
	case !strings.Contains(stderr, "a password is required"):
		return fail(fmt.Errorf("host %q: become: `sudo -n` as %q to %s failed (exit %d): %s", h.name, cfg.User, as, code, sudoMessage(stderr)))
	case cfg.BecomePassword == "":
		return fail(fmt.Errorf("host %q: sudo asks user %q for a password to become %s: give it with -ask-become-password or the host's become_password (%w)",
			h.name, cfg.User, as, ErrBecomePassword))
	}
	s.password, s.marker = cfg.BecomePassword, "hako-become-"+randomSuffix()
	code, stderr, err = h.runRaw(ctx, "LC_ALL=C "+s.prefix()+"true", s.password+"\n")
	if err != nil {
		return fmt.Errorf("host %q: become: checking the become password: %w", h.name, err)
	}
	if code != 0 {
		if strings.Contains(stderr, "incorrect password") || strings.Contains(stderr, "try again") {
			return fail(fmt.Errorf("host %q: sudo refused the become password of user %q (%s) (%w)", h.name, cfg.User, sudoMessage(stderr), ErrBecomePassword))
		}
		return fail(fmt.Errorf("host %q: become: sudo with the become password as %q to %s failed (exit %d): %s", h.name, cfg.User, as, code, sudoMessage(stderr)))
	}
	h.settleWith(s, nil)
	return nil
}

// markerWriter passes on what the trial command writes to standard
// output after trialMarker's line, and calls seen once it has found that
// line: before it comes only sudo can have written (a PAM module, say),
// which is dropped, at most markerSearch bytes of it looked at.
type markerWriter struct {
	w     io.Writer
	seen  func()
	found bool
	head  []byte
}

const markerSearch = 64 << 10

func (m *markerWriter) Write(p []byte) (int, error) {
	if m.found {
		return m.w.Write(p)
	}
	if len(m.head) >= markerSearch {
		return len(p), nil
	}
	m.head = append(m.head, p...)
	line := []byte(trialMarker + "\n")
	i := -1
	if bytes.HasPrefix(m.head, line) {
		i = 0
	} else if j := bytes.Index(m.head, append([]byte{'\n'}, line...)); j >= 0 {
		i = j + 1
	}
	if i < 0 {
		return len(p), nil
	}
	m.found = true
	m.seen()
	rest := m.head[i+len(line):]
	m.head = nil
	if len(rest) > 0 {
		if _, err := m.w.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// sudoMessage is what sudo wrote to stderr (it never holds the password;
// sudo does not repeat what it reads), on one line: every line of it, not
// only the last, since sudo says why it failed first and what it gave up
// on last ("/etc/sudoers is world writable", then "no valid sudoers
// sources found, quitting", then "error initializing audit plugin").
// Bounded, and with control characters replaced: it is the host's text.
func sudoMessage(stderr string) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "no message on stderr"
	}
	const maxLines, maxLen = 6, 600
	if len(lines) > maxLines {
		lines = append(lines[:maxLines], "…")
	}
	m := strings.Join(lines, "; ")
	if len(m) > maxLen {
		m = strings.ToValidUTF8(m[:maxLen], "") + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(m, "?"))
}

// runRaw runs the command line cmd with stdin as its input, outside the
// session limit (Dial has not handed the host out yet) and without the
// shell on standard input. For sudo's own checks only.
func (h *SSHHost) runRaw(ctx context.Context, cmd, stdin string) (int, string, error) {
	sess, err := h.client.NewSession()
	if err != nil {
		return -1, "", err
	}
	defer sess.Close()
	var stderr bytes.Buffer
	sess.Stdin = strings.NewReader(stdin)
	sess.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	err = sess.Run(cmd)
	if ctx.Err() != nil {
		return -1, "", ctx.Err()
	}
	var exit *ssh.ExitError
	switch {
	case err == nil:
		return 0, stderr.String(), nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), stderr.String(), nil
	}
	return -1, "", err
}

// limitedWriter keeps the first n bytes and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	k := min(len(p), l.n)
	if k > 0 {
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.n -= k
	}
	return len(p), nil
}

// settled is the sudoer a trial settles: plain sudo -n from then on.
func (s *sudoer) settled() *sudoer {
	c := *s
	c.trial = false
	return &c
}

// mixedRules adds to err, the failed start of an SFTP server through
// sudo -n, why sudo asked for a password there: hako's first command ran
// without one, so the sudoers rules ask for a password for some of the
// commands hako runs only.
func (h *SSHHost) mixedRules(su *sudoer, err error) error {
	if su == nil || su.password != "" || !strings.Contains(err.Error(), "a password is required") {
		return err
	}
	return fmt.Errorf("%w (sudo ran hako's commands without asking for a password, but asks for one for the SFTP server: the sudoers rules must ask for a password for all of the commands hako runs, or for none)", err)
}
