package hosts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
)

// recordHost is a fileHost whose file system only records what is done
// to it: every folder is root's and the temp file is a recorder.
type recordHost struct {
	log []string
}

func (h *recordHost) Name() string { return "rec" }
func (h *recordHost) Run(_ context.Context, cmd string) (Result, error) {
	h.log = append(h.log, "run")
	return Result{}, nil
}
func (h *recordHost) ops(context.Context) (fileOps, error) { return recordOps{h}, nil }
func (h *recordHost) opsAs(context.Context, int) (fileOps, func(), error) {
	return nil, nil, fmt.Errorf("not here")
}
func (h *recordHost) writerUID(context.Context) (int, error) { return 0, nil }
func (h *recordHost) idCache() *idCache                      { return &idCache{} }

type recordOps struct{ h *recordHost }

type rootDir struct{ name string }

func (d rootDir) Name() string       { return d.name }
func (d rootDir) Size() int64        { return 0 }
func (d rootDir) Mode() fs.FileMode  { return fs.ModeDir | 0o755 }
func (d rootDir) ModTime() time.Time { return time.Time{} }
func (d rootDir) IsDir() bool        { return true }
func (d rootDir) Sys() any           { return &sftp.FileStat{} } // owned by root (0:0)

func (o recordOps) lstat(name string) (fs.FileInfo, error) { return rootDir{name}, nil }
func (o recordOps) readlink(string) (string, error)        { return "", fs.ErrInvalid }
func (o recordOps) createExcl(string) (tempFile, error) {
	o.h.log = append(o.h.log, "create")
	return recordFile{o.h}, nil
}
func (o recordOps) rename(string, string) error {
	o.h.log = append(o.h.log, "rename")
	return nil
}
func (o recordOps) remove(string) error             { return nil }
func (o recordOps) mkdir(string) error              { return nil }
func (o recordOps) chown(string, int, int) error    { return fmt.Errorf("chown by path") }
func (o recordOps) chmod(string, fs.FileMode) error { return fmt.Errorf("chmod by path") }

type recordFile struct{ h *recordHost }

func (f recordFile) Chmod(m fs.FileMode) error {
	f.h.log = append(f.h.log, fmt.Sprintf("fchmod %04o", unixMode(m)))
	return nil
}
func (f recordFile) Chown(uid, gid int) error {
	f.h.log = append(f.h.log, fmt.Sprintf("fchown %d:%d", uid, gid))
	return nil
}
func (f recordFile) Stat() (fs.FileInfo, error) { return nil, fmt.Errorf("not needed") }
func (f recordFile) Write(b []byte) (int, error) {
	f.h.log = append(f.h.log, "write")
	return len(b), nil
}
func (f recordFile) Sync() error  { f.h.log = append(f.h.log, "fsync"); return nil }
func (f recordFile) Close() error { f.h.log = append(f.h.log, "close"); return nil }

// Owner and mode go on the open handle, never by path; the file is
// private until its content is in; the real mode, setuid and all, comes
// last, after the owner (a chown clears setuid) and the content.
func TestWriteOrderOnTheHandle(t *testing.T) {
	h := &recordHost{}
	err := writeAtomic(t.Context(), h, FileWrite{Path: "/usr/local/bin/tool", Content: []byte("x"),
		Mode: 0o755 | os.ModeSetuid, Owner: "0", Group: "50", Validate: "true %s"})
	if err != nil {
		t.Fatal(err)
	}
	want := "create, fchmod 0600, fchown 0:50, write, fsync, fchmod 4755, close, run, rename"
	if got := strings.Join(h.log, ", "); got != want {
		t.Errorf("steps:\n got %s\nwant %s", got, want)
	}
}

// spaceRecordOps is recordOps whose file system says how full it is.
type spaceRecordOps struct {
	recordOps
	free, inodes uint64
	err          error
	asRoot       *bool
}

func (o spaceRecordOps) freeSpace(_ string, root bool) (uint64, uint64, error) {
	*o.asRoot = root
	return o.free, o.inodes, o.err
}

// A failed write on a full file system says so, for the user the write
// is done as; a failure with room to spare, or where the free space
// cannot be asked, stays as it was.
func TestNoSpaceNamesAFullFileSystem(t *testing.T) {
	sftpFailure := fmt.Errorf(`sftp: "Failure" (SSH_FX_FAILURE)`)
	var root bool
	for _, c := range []struct {
		ops  fileOps
		root bool
		want string
	}{
		{spaceRecordOps{free: 0, inodes: 10, asRoot: &root}, true,
			`no space left on the file system of /srv: 0 bytes free, the file is 4096 bytes: sftp: "Failure" (SSH_FX_FAILURE)`},
		{spaceRecordOps{free: 1 << 20, inodes: 0, asRoot: &root}, false,
			`no space left on the file system of /srv: no free inodes: sftp: "Failure" (SSH_FX_FAILURE)`},
		{spaceRecordOps{free: 1 << 20, inodes: 10, asRoot: &root}, true, `sftp: "Failure" (SSH_FX_FAILURE)`},
		{spaceRecordOps{err: fmt.Errorf("unsupported"), asRoot: &root}, false, `sftp: "Failure" (SSH_FX_FAILURE)`},
		{recordOps{}, true, `sftp: "Failure" (SSH_FX_FAILURE)`},
	} {
		root = !c.root
		err := noSpace(c.ops, "/srv", c.root, 4096, sftpFailure)
		if err.Error() != c.want || !errors.Is(err, sftpFailure) {
			t.Errorf("got %v, want %s", err, c.want)
		}
		if _, ok := c.ops.(spaceRecordOps); ok && root != c.root {
			t.Errorf("%s: free space asked for root=%v, want %v", c.want, root, c.root)
		}
	}
}

// A permission error of a writer that is not root says so and how root is
// had; root's own, or one of work done as a folder's owner, does not.
func TestNotRootSaysHowToBecomeRoot(t *testing.T) {
	denied := fmt.Errorf("open /etc/.x.hako-1: %w", fs.ErrPermission)
	if got := notRoot(1000, noUser, denied).Error(); got != "open /etc/.x.hako-1: permission denied (hako writes as uid 1000 here, not as root: become = true, with become_user root, writes as root)" {
		t.Errorf("as uid 1000: %s", got)
	}
	for _, c := range []struct {
		me, as int
		err    error
	}{{0, noUser, denied}, {0, 1000, denied}, {1000, noUser, fs.ErrNotExist}} {
		if got := notRoot(c.me, c.as, c.err); got != c.err {
			t.Errorf("me %d, as %d, %v: %v", c.me, c.as, c.err, got)
		}
	}
}
