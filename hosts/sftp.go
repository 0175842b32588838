package hosts

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// WriteFile atomically replaces w.Path over SFTP (as root through sudo when
// the host uses become). See writeAtomic for the steps.
func (h *SSHHost) WriteFile(ctx context.Context, w FileWrite) error {
	if err := checkFileWrite(w); err != nil {
		return fmt.Errorf("host %q: write %s: invalid request: %w", h.name, w.Path, err)
	}
	c, fsync, err := h.sftpClient(ctx)
	if err != nil {
		return fmt.Errorf("host %q: write %s: start sftp: %w", h.name, w.Path, err)
	}
	return writeAtomic(ctx, h.name, sftpOps{c: c, fsync: fsync}, h.Run, w)
}

// sftpClient starts the SFTP client on first use and then reuses it; the
// client is safe for concurrent use, so parallel writes share it.
func (h *SSHHost) sftpClient(ctx context.Context) (*sftp.Client, bool, error) {
	h.sftpMu.Lock()
	defer h.sftpMu.Unlock()
	if h.sftp != nil {
		return h.sftp, h.sftpFsync, nil
	}
	s, err := h.client.NewSession()
	if err != nil {
		return nil, false, fmt.Errorf("open session: %w", err)
	}
	// sudo's own message ("a password is required") arrives only here:
	// NewClientPipe just sees the pipe close.
	stderr := &lockedBuffer{}
	s.Stderr = stderr
	wr, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, false, err
	}
	rd, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, false, err
	}
	what := "sftp subsystem"
	if h.become {
		// -u 077: created files start private; WriteFile sets the real mode.
		cmd := "sudo -n " + sftpServerPath + " -u 077"
		what = "`" + cmd + "`"
		err = s.Start(cmd)
	} else {
		err = s.RequestSubsystem("sftp")
	}
	if err != nil {
		s.Close()
		return nil, false, fmt.Errorf("%s: %w", what, err)
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
			return nil, false, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "no message on stderr"
		}
		if waitErr != nil {
			msg += " (" + waitErr.Error() + ")"
		}
		return nil, false, fmt.Errorf("%s: %s: %w", what, msg, err)
	}
	_, h.sftpFsync = c.HasExtension("fsync@openssh.com")
	h.sftp, h.sftpSession = c, s
	return c, h.sftpFsync, nil
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

// rename uses posix-rename@openssh.com: plain SFTP rename fails when the
// target exists.
func (o sftpOps) rename(oldname, newname string) error { return o.c.PosixRename(oldname, newname) }
func (o sftpOps) remove(name string) error             { return o.c.Remove(name) }
func (o sftpOps) stat(name string) (fs.FileInfo, error) {
	return o.c.Stat(name)
}

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
