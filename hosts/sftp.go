package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// WriteFile atomically replaces w.Path over SFTP (as root through sudo when
// the host uses become, or as the user owning a folder on the way). See
// writeAtomic for the steps.
func (h *SSHHost) WriteFile(ctx context.Context, w FileWrite) error {
	return h.guardRefused(ctx, writeAtomic(ctx, h, w))
}

// MakeDir makes sure d.Path is a directory with d's owner and mode.
func (h *SSHHost) MakeDir(ctx context.Context, d Dir) error {
	return h.guardRefused(ctx, makeDir(ctx, h, d))
}

// guardRefused is err, or ErrGuardRolledBack when err is the SFTP server
// gone and a guard's mark now refuses this connection: the timer's
// rollback ends the run's SFTP server (it carries HAKO_CONN) and the
// client kept for reuse then only says "connection lost". One command,
// which the mark refuses (see guardCheck), tells which, on this failure
// path only.
func (h *SSHHost) guardRefused(ctx context.Context, err error) error {
	if err == nil || !errors.Is(err, sftp.ErrSSHFxConnectionLost) || ctx.Err() != nil {
		return err
	}
	if _, rerr := h.Run(ctx, ":"); errors.Is(rerr, ErrGuardRolledBack) {
		return rerr
	}
	return err
}

// userFiles is an SSHHost's file access as another user: one
// sftp-server as that user, started when needed. One at a time: with the
// root SFTP session and the exec sessions (maxSessions) it makes sshd's
// default MaxSessions of 10; work as another user waits for the current
// one (rare: a home's files), which then closes its server.
type userFiles struct {
	turnOnce sync.Once
	turn     chan struct{} // holds a token while a user's client is in use
	mu       sync.Mutex    // guards the fields below
	uid      int           // whose client c is (c != nil)
	c        *sftpConn
	// writerUID is whom the root SFTP session acts as (see
	// SSHHost.writerUID): the become user, or the login user without
	// become; set once writerKnown.
	writerUID   int
	writerKnown bool
	ids         idCache
}

type sftpConn struct {
	c     *sftp.Client
	s     *ssh.Session
	fsync bool
}

// take waits for the user's client to be free, or for ctx to end: work
// as another user waits its turn behind a whole write (upload, validate),
// and a run that is cancelled or out of time must not wait on.
func (u *userFiles) take(ctx context.Context) error {
	u.turnOnce.Do(func() { u.turn = make(chan struct{}, 1) })
	select {
	case u.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// give frees the user's client for the next taker.
func (u *userFiles) give() { <-u.turn }

func (u *userFiles) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.c != nil {
		closeSFTP(u.c.c, u.c.s)
		u.c = nil
	}
}

func (h *SSHHost) idCache() *idCache { return &h.users.ids }

func (h *SSHHost) ops(ctx context.Context) (fileOps, error) {
	c, fsync, err := h.sftpClient(ctx)
	if err != nil {
		return nil, fmt.Errorf("start sftp: %w", err)
	}
	return sftpOps{c: c, fsync: fsync}, nil
}

// writerUID: root with become (to root); else the login user or the
// become user, asked once.
func (h *SSHHost) writerUID(ctx context.Context) (int, error) {
	if _, err := h.settle(ctx, false); err != nil {
		return noUser, err
	}
	if su := h.sudoNow(); su != nil && (su.user == "" || su.user == "root") {
		return 0, nil
	}
	h.users.mu.Lock()
	defer h.users.mu.Unlock()
	if h.users.writerKnown {
		return h.users.writerUID, nil
	}
	res, err := h.Run(ctx, "id -u")
	if err != nil {
		return noUser, err
	}
	uid, err := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
	if err != nil || res.ExitCode != 0 {
		return noUser, fmt.Errorf("id -u: exit %d, %q", res.ExitCode, res.Stdout)
	}
	h.users.writerUID, h.users.writerKnown = uid, true
	return uid, nil
}

// opsAs starts an sftp-server as the user uid (or reuses the one that
// is): root drops to the user with setpriv, which util-linux has
// everywhere, and the user's own groups. It needs root: through sudo with
// become, else a root login.
func (h *SSHHost) opsAs(ctx context.Context, uid int) (fileOps, func(), error) {
	if err := h.users.take(ctx); err != nil {
		return nil, nil, fmt.Errorf("waiting for the file access as another user to be free: %w", err)
	}
	h.users.mu.Lock()
	defer h.users.mu.Unlock()
	if _, err := h.settle(ctx, false); err != nil {
		h.users.give()
		return nil, nil, err
	}
	if c := h.users.c; c != nil && h.users.uid == uid {
		return sftpOps{c: c.c, fsync: c.fsync}, h.users.give, nil
	}
	if h.users.c != nil {
		closeSFTP(h.users.c.c, h.users.c.s)
		h.users.c = nil
	}
	su := h.sudoNow()
	cmd := "env HAKO_CONN=" + h.conn + " " + su.shell(guardCheck(h.conn)+setprivAs(`"$1"`, sftpServerPath+` -u 077`)) + fmt.Sprintf(" sh %d", uid)
	if su != nil {
		cmd = su.prefix() + cmd
	}
	c, s, fsync, err := h.startSFTP(ctx, cmd, su.input())
	if err != nil {
		err = h.mixedRules(su, err)
		h.users.give()
		return nil, nil, err
	}
	h.users.uid, h.users.c = uid, &sftpConn{c: c, s: s, fsync: fsync}
	return sftpOps{c: c, fsync: fsync}, h.users.give, nil
}

// sftpClient starts the SFTP client on first use and then reuses it; the
// client is safe for concurrent use, so parallel writes share it.
func (h *SSHHost) sftpClient(ctx context.Context) (*sftp.Client, bool, error) {
	h.sftpMu.Lock()
	defer h.sftpMu.Unlock()
	if h.sftp != nil {
		return h.sftp, h.sftpFsync, nil
	}
	if _, err := h.settle(ctx, false); err != nil {
		return nil, false, err
	}
	su := h.sudoNow()
	// The sftp subsystem (cmd "") serves a login that is not root without
	// become: no guard can be armed over its connection (arming needs
	// root), and sshd's own subsystem setting (internal-sftp, a chroot)
	// holds for it.
	cmd := ""
	if su != nil || h.root {
		cmd = su.sftpCommand(h.conn)
	}
	c, s, fsync, err := h.startSFTP(ctx, cmd, su.input())
	if su == nil && errors.Is(err, errNoSFTPServer) {
		// Root on a host whose sftp-server is not where Debian puts it:
		// sshd's subsystem knows where it is. The guard can neither
		// refuse nor end that server (README: the rollback guard).
		c, s, fsync, err = h.startSFTP(ctx, "", "")
	}
	if err != nil {
		err = h.mixedRules(su, err)
		return nil, false, err
	}
	h.sftp, h.sftpSession, h.sftpFsync = c, s, fsync
	return c, fsync, nil
}

// startSFTP starts an SFTP server in a new session: the command cmd, or
// the sftp subsystem when cmd is "". input goes to the command's standard
// input ahead of the SFTP protocol (the become password for sudo).
func (h *SSHHost) startSFTP(ctx context.Context, cmd, input string) (*sftp.Client, *ssh.Session, bool, error) {
	s, err := h.client.NewSession()
	if err != nil {
		return nil, nil, false, fmt.Errorf("open session: %w", err)
	}
	// sudo's own message ("a password is required") arrives only here:
	// NewClientPipe just sees the pipe close.
	stderr := &lockedBuffer{}
	s.Stderr = stderr
	wr, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, nil, false, err
	}
	rd, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, nil, false, err
	}
	what := "sftp subsystem"
	if cmd != "" {
		what = "`" + cmd + "`"
		err = s.Start(cmd)
	} else {
		err = s.RequestSubsystem("sftp")
	}
	if err == nil && input != "" && cmd != "" {
		_, err = io.WriteString(wr, input)
	}
	if err != nil {
		s.Close()
		return nil, nil, false, fmt.Errorf("%s: %w", what, err)
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	c, err := sftp.NewClientPipe(rd, wr)
	if !stop() && err == nil {
		c.Close()
		err = ctx.Err()
	}
	if err != nil {
		waitErr := waitSession(s, 2*time.Second)
		s.Close()
		if ctx.Err() != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, guardRefusal) {
			return nil, nil, false, fmt.Errorf("host %q: %w", h.name, ErrGuardRolledBack)
		}
		if strings.Contains(msg, noSFTPServer) {
			return nil, nil, false, fmt.Errorf("%s: %w", what, errNoSFTPServer)
		}
		if msg == "" {
			msg = "no message on stderr"
		}
		if waitErr != nil {
			msg += " (" + waitErr.Error() + ")"
		}
		return nil, nil, false, fmt.Errorf("%s: %s: %w", what, msg, err)
	}
	_, fsync := c.HasExtension("fsync@openssh.com")
	return c, s, fsync, nil
}

// closeSFTP closes the client (its stdin, so sftp-server exits) and waits
// for the session; bounded, since the SSH client is closed next anyway.
func closeSFTP(c *sftp.Client, s *ssh.Session) {
	done := make(chan struct{})
	go func() {
		c.Close()
		_ = s.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	s.Close()
}

func waitSession(s *ssh.Session, limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		return nil
	}
}

type sftpOps struct {
	c     *sftp.Client
	fsync bool
}

func (o sftpOps) createExcl(name string) (tempFile, error) {
	f, err := o.c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, err
	}
	return sftpFile{File: f, fsync: o.fsync}, nil
}

func (o sftpOps) freeSpace(dir string, root bool) (uint64, uint64, error) {
	v, err := o.c.StatVFS(dir)
	if err != nil {
		return 0, 0, err
	}
	free, inodes := v.Bavail*v.Frsize, v.Favail
	if root {
		free, inodes = v.Bfree*v.Frsize, v.Ffree
	}
	if v.Files == 0 { // a file system that does not count inodes (btrfs)
		inodes = math.MaxUint64
	}
	return free, inodes, nil
}

// rename uses posix-rename@openssh.com: plain SFTP rename fails when the
// target exists.
func (o sftpOps) rename(oldname, newname string) error   { return o.c.PosixRename(oldname, newname) }
func (o sftpOps) remove(name string) error               { return o.c.Remove(name) }
func (o sftpOps) lstat(name string) (fs.FileInfo, error) { return o.c.Lstat(name) }
func (o sftpOps) readlink(name string) (string, error)   { return o.c.ReadLink(name) }
func (o sftpOps) mkdir(name string) error                { return o.c.Mkdir(name) }
func (o sftpOps) chown(name string, uid, gid int) error  { return o.c.Chown(name, uid, gid) }
func (o sftpOps) chmod(name string, m fs.FileMode) error { return o.c.Chmod(name, m) }

// sftpFile skips fsync on servers without fsync@openssh.com.
type sftpFile struct {
	*sftp.File
	fsync bool
}

func (f sftpFile) Sync() error {
	if !f.fsync {
		return nil
	}
	return f.File.Sync()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
