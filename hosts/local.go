package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Local is a Host that runs commands and writes files on this machine, with
// the same contracts as SSHHost. Become is ignored: it acts as the user
// hako runs as.
type Local struct {
	name string
	ids  idCache
}

var _ Host = (*Local)(nil)

// NewLocal returns a Host for this machine, named name in messages.
func NewLocal(name string) *Local { return &Local{name: name} }

// Name is the plan's name for the host.
func (l *Local) Name() string { return l.name }

// Close does nothing; there is no connection.
func (l *Local) Close() error { return nil }

// Run runs cmd like SSHHost.Run, the script on standard input. Cancelling
// ctx kills the whole process group, so a `sleep` started by the shell
// does not keep the pipes open.
func (l *Local) Run(ctx context.Context, cmd string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: -1}, fmt.Errorf("host %q: run: %w", l.name, err)
	}
	outer := ctx
	limit, _ := ctx.Value(taskTimeoutKey{}).(time.Duration)
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	c := exec.CommandContext(ctx, "sh", "-c", evalStdin)
	c.Env = childEnv()
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	c.Stdin = strings.NewReader(cmd)
	setProcessGroup(c)
	// Stop waiting for the pipes shortly after the shell exits even if a
	// daemon it started still holds them (sshd does not wait either).
	c.WaitDelay = 2 * time.Second
	err := c.Run()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err != nil && ctx.Err() != nil {
		res.ExitCode = -1
		if outer.Err() == nil {
			return res, fmt.Errorf("host %q: run: %w", l.name, timedOut(limit, true))
		}
		return res, fmt.Errorf("host %q: run: %w", l.name, outer.Err())
	}
	var exit *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		return res, nil
	case errors.As(err, &exit):
		res.ExitCode = exitCode(exit)
		return res, nil
	}
	res.ExitCode = -1
	return res, fmt.Errorf("host %q: run: %w", l.name, err)
}

// WriteFile atomically replaces w.Path on this machine.
func (l *Local) WriteFile(ctx context.Context, w FileWrite) error { return writeAtomic(ctx, l, w) }

// MakeDir makes sure d.Path is a directory with d's owner and mode.
func (l *Local) MakeDir(ctx context.Context, d Dir) error { return makeDir(ctx, l, d) }

func (l *Local) idCache() *idCache                      { return &l.ids }
func (l *Local) ops(context.Context) (fileOps, error)   { return localOps{}, nil }
func (l *Local) writerUID(context.Context) (int, error) { return os.Geteuid(), nil }
func (l *Local) opsAs(_ context.Context, uid int) (fileOps, func(), error) {
	// Acting as another user would need a process of its own; the local
	// host is for tests and for hako's own machine, where that does not come up.
	return nil, nil, fmt.Errorf("the local host acts only as uid %d, not as uid %d", os.Geteuid(), uid)
}

type localOps struct{}

func (localOps) createExcl(name string) (tempFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}
func (localOps) rename(oldname, newname string) error   { return os.Rename(oldname, newname) }
func (localOps) remove(name string) error               { return os.Remove(name) }
func (localOps) lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }
func (localOps) readlink(name string) (string, error)   { return os.Readlink(name) }
func (localOps) mkdir(name string) error                { return os.Mkdir(name, 0o700) }
func (localOps) chown(name string, uid, gid int) error  { return os.Chown(name, uid, gid) }
func (localOps) chmod(name string, m fs.FileMode) error { return os.Chmod(name, m) }
