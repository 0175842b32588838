package hosts

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// fileOps is the little file API the writes need; SFTP and the local file
// system both provide it, so SSHHost and Local share writeAtomic and
// makeDir. Every path operation must not follow a final symlink except
// chown and chmod, which are only used on a folder whose entry nobody else
// can replace (place says so).
type fileOps interface {
	pathOps
	createExcl(name string) (tempFile, error) // O_WRONLY|O_CREATE|O_EXCL: never follows a link
	rename(oldname, newname string) error     // must replace newname atomically
	remove(name string) error
	mkdir(name string) error
	chown(name string, uid, gid int) error
	chmod(name string, mode fs.FileMode) error
}

// tempFile is an open handle: owner and mode are set on it (fchown,
// fchmod), never by path.
type tempFile interface {
	Chmod(fs.FileMode) error
	Chown(uid, gid int) error
	Stat() (fs.FileInfo, error)
	Write([]byte) (int, error)
	Sync() error
	Close() error
}

type runFunc func(ctx context.Context, cmd string) (Result, error)

// fileHost is what the writes need of a host.
type fileHost interface {
	Name() string
	Run(ctx context.Context, cmd string) (Result, error)
	// ops is the writer's own file access (root when the host uses become).
	ops(ctx context.Context) (fileOps, error)
	// opsAs is file access as the user uid, until release is called.
	opsAs(ctx context.Context, uid int) (ops fileOps, release func(), err error)
	// writerUID is the user ops acts as.
	writerUID(ctx context.Context) (int, error)
	idCache() *idCache
}

// validateMarker is printed on stdout by the validate script just before
// the Validate command starts, so a failure to start (no such user to run
// it as) can be told apart from the command failing.
const validateMarker = "hako-validate-begins\n"

const modeBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

func checkFileWrite(w FileWrite) error {
	switch {
	case !path.IsAbs(w.Path):
		return errors.New("path must be absolute")
	case strings.HasSuffix(w.Path, "/") || path.Base(w.Path) == "." || path.Base(w.Path) == "..":
		return errors.New("path must name a file")
	case w.Validate != "" && !strings.Contains(w.Validate, "%s"):
		return fmt.Errorf("validate command %q has no %%s for the file to check", w.Validate)
	}
	if err := checkPathText(w.Path); err != nil {
		return err
	}
	if err := CheckOwnerName("owner", w.Owner); err != nil {
		return err
	}
	return CheckOwnerName("group", w.Group)
}

// checkPathText refuses control characters, which no sane path holds and
// which would garble messages and the host's logs.
func checkPathText(p string) error {
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("path %q holds a control character", p)
		}
	}
	return nil
}

// actor picks whose file access does work placed by pl: the writer's own,
// or the user who owns a folder on the way (as, else noUser). release
// must be called when the work is done.
func actor(ctx context.Context, h fileHost, pl placement) (ops fileOps, as int, release func(), err error) {
	me, err := h.writerUID(ctx)
	if err != nil {
		return nil, noUser, nil, err
	}
	if pl.user == noUser || pl.user == me {
		ops, err := h.ops(ctx)
		return ops, noUser, func() {}, err
	}
	if me != 0 {
		return nil, noUser, nil, fmt.Errorf("a folder on the way belongs to uid %d, so the work must be done as that user, which needs root (become = true)", pl.user)
	}
	ops, release, err = h.opsAs(ctx, pl.user)
	if err != nil {
		return nil, noUser, nil, fmt.Errorf("act as uid %d (a folder on the way is theirs): %w", pl.user, err)
	}
	return ops, pl.user, release, nil
}

// writeAtomic: resolve owner and group to ids; check the folders on the
// way (place); a temp file next to the target (same file system, so the
// rename is atomic), created exclusively and private; owner set on the
// handle; the content; fsync; the final mode on the handle, last, so
// setuid bits are never on a partial file and no chown clears them; the
// optional validate; rename over the target. Where a folder on the way
// belongs to a user, all of it is done as that user. Any failure removes
// the temp file and leaves the target as it was.
func writeAtomic(ctx context.Context, h fileHost, w FileWrite) (err error) {
	fail := func(step string, err error) error {
		return fmt.Errorf("host %q: write %s: %s: %w", h.Name(), w.Path, step, err)
	}
	if err := checkFileWrite(w); err != nil {
		return fail("invalid request", err)
	}
	if err := ctx.Err(); err != nil {
		return fail("before start", err)
	}
	uid, gid, err := h.idCache().resolve(ctx, h.Run, w.Owner, w.Group)
	if err != nil {
		return fail("set owner/group", err)
	}
	root, err := h.ops(ctx)
	if err != nil {
		return fail("start", err)
	}
	dir, base := path.Dir(w.Path), path.Base(w.Path)
	pl, err := place(root, dir, uid)
	if err != nil {
		return fail("check folders", err)
	}
	if len(pl.missing) > 0 {
		return fail("create temp file", fmt.Errorf("parent directory %s does not exist (a directory task must create it first)", dir))
	}
	ops, as, release, err := actor(ctx, h, pl)
	if err != nil {
		return fail("check folders", err)
	}
	defer release()
	// The resolved folder: nothing on the way can change any more (it is
	// root's), or the work is the folder owner's own.
	target := path.Join(pl.dir, base)
	tmp := path.Join(pl.dir, "."+base+".hako-"+randomSuffix())

	// SFTP reports a full disk as a bare "Failure": where the write
	// failed, ask the file system whether it is full, and say so.
	me, err := h.writerUID(ctx)
	if err != nil {
		return fail("start", err)
	}
	full := func(err error) error {
		return noSpace(ops, pl.dir, as == 0 || as == noUser && me == 0, len(w.Content), err)
	}
	f, err := ops.createExcl(tmp)
	if err != nil {
		return fail("create temp file "+tmp, notRoot(me, as, full(err)))
	}
	defer func() {
		if err != nil {
			if rerr := ops.remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = fmt.Errorf("%w (and removing the temp file %s failed: %v)", err, tmp, rerr)
			}
		}
	}()
	if err := fillHandle(f, w.Content, w.Mode, uid, gid); err != nil {
		f.Close()
		if as != noUser && err.step == "set owner/group" {
			err.err = fmt.Errorf("%w (written as uid %d, the owner of a folder on the way, who may give a file only to their own groups)", err.err, as)
		}
		if err.step == "write temp file" || err.step == "fsync temp file" {
			err.err = full(err.err)
		}
		return fail(err.step, err.err)
	}
	if err := f.Close(); err != nil {
		return fail("close temp file", full(err))
	}
	if w.Validate != "" {
		if err := validate(ctx, h, w.Validate, tmp, as); err != nil {
			return fail("validate", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fail("before rename", err)
	}
	if err := ops.rename(tmp, target); err != nil {
		return fail("rename temp file over target", notRoot(me, as, err))
	}
	return nil
}

// spaceOps is file access that can tell how much room the file system of
// a folder has left (SFTP's statvfs@openssh.com). The SFTP protocol has no
// code for a full disk: OpenSSH's sftp-server answers ENOSPC with a bare
// "Failure". The local file system's errors say it themselves.
type spaceOps interface {
	// freeSpace is the bytes and inodes free in dir's file system for
	// root (root true: reserved blocks count) or for any other user.
	freeSpace(dir string, root bool) (bytes, inodes uint64, err error)
}

// noSpace adds to err, the failure of writing a file of need bytes in
// dir, that the file system there is full, when it is (for the user the
// write is done as). When it cannot tell, err stays as it is.
func noSpace(ops fileOps, dir string, root bool, need int, err error) error {
	so, ok := ops.(spaceOps)
	if !ok || err == nil {
		return err
	}
	free, inodes, serr := so.freeSpace(dir, root)
	switch {
	case serr != nil:
		return err
	case inodes == 0:
		return fmt.Errorf("no space left on the file system of %s: no free inodes: %w", dir, err)
	case free < uint64(need):
		return fmt.Errorf("no space left on the file system of %s: %d bytes free, the file is %d bytes: %w", dir, free, need, err)
	}
	return err
}

// notRoot adds to a permission error of work done as the writer me (as
// is noUser) that the writer is not root, and how root is had: without
// become a plan that manages system files fails on every host with a bare
// "permission denied".
func notRoot(me, as int, err error) error {
	if me == 0 || as != noUser || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return fmt.Errorf("%w (hako writes as uid %d here, not as root: become = true, with become_user root, writes as root)", err, me)
}

type stepError struct {
	step string
	err  error
}

// fillHandle does everything on the open temp file: private before any
// content, the owner, the content, fsync, then the real mode.
func fillHandle(f tempFile, content []byte, mode fs.FileMode, uid, gid int) *stepError {
	if err := f.Chmod(0o600); err != nil {
		return &stepError{"chmod temp file", err}
	}
	if uid != noUser || gid != noUser {
		if uid == noUser || gid == noUser {
			st, err := f.Stat()
			if err != nil {
				return &stepError{"stat temp file", err}
			}
			u, g, ok := fileOwner(st)
			if !ok {
				return &stepError{"stat temp file", errors.New("no owner in the answer")}
			}
			uid, gid = pick(uid, u), pick(gid, g)
		}
		if err := f.Chown(uid, gid); err != nil {
			return &stepError{"set owner/group", fmt.Errorf("chown %d:%d: %w", uid, gid, err)}
		}
	}
	if _, err := f.Write(content); err != nil {
		return &stepError{"write temp file", err}
	}
	if err := f.Sync(); err != nil {
		return &stepError{"fsync temp file", err}
	}
	if err := f.Chmod(mode & modeBits); err != nil {
		return &stepError{"chmod temp file", err}
	}
	return nil
}

func pick(want, have int) int {
	if want == noUser {
		return have
	}
	return want
}

// validate runs the Validate command on the temp file, as the user who
// wrote it. The file's path is the script's "$1", never text in the
// command: %s stands for "$1", so a path holding $(...) stays a word.
func validate(ctx context.Context, h fileHost, template, tmp string, as int) error {
	script := "printf '%s' " + Quote(validateMarker) + "\n" + strings.ReplaceAll(template, "%s", `"$1"`)
	res, err := h.Run(ctx, scriptAs(as, script, tmp))
	if err != nil {
		return err
	}
	validating := bytes.HasPrefix(res.Stdout, []byte(validateMarker))
	if validating {
		res.Stdout = res.Stdout[len(validateMarker):]
	}
	switch {
	case res.ExitCode == 0:
		return nil
	case validating:
		return &ValidateError{Command: template, Result: res}
	}
	return fmt.Errorf("could not start (exit code %d): %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
}

// scriptAs wraps script so that it runs with args as "$1"..., as the user
// uid (noUser: as the caller). The script travels in a here-document, as
// Run's scripts travel on standard input: never on a command line.
func scriptAs(uid int, script string, args ...string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = Quote(a)
	}
	end := "HAKO_SCRIPT_END_" + randomSuffix()
	shell := "sh"
	if uid != noUser {
		shell = setprivAs(strconv.Itoa(uid), "sh")
	}
	return fmt.Sprintf("%s -c %s sh %s <<'%s'\n%s\n%s\n", shell, Quote(evalStdin), strings.Join(quoted, " "), end, script, end)
}

// setprivAs is the shell text that runs cmd as the user uid (a shell
// word: a number, or "$1") with that user's primary group and groups,
// through util-linux's setpriv, which every host has; it needs root. When
// the user has no primary group to be found, it runs nothing and exits
// 125. It holds no single quote, so it can go inside sh -c '...'.
func setprivAs(uid, cmd string) string {
	return `g=$(id -g -- ` + uid + `) || exit 125; exec setpriv --reuid=` + uid + ` --regid="$g" --init-groups -- ` + cmd
}

// makeDir makes d.Path a directory with d's owner and mode, creating
// missing folders on the way (0755, owned by whoever does the work).
// chown and chmod go by path: place has made sure nobody but root, or the
// user the work is done as, can replace any entry involved.
func makeDir(ctx context.Context, h fileHost, d Dir) error {
	fail := func(step string, err error) error {
		return fmt.Errorf("host %q: directory %s: %s: %w", h.Name(), d.Path, step, err)
	}
	switch {
	case !path.IsAbs(d.Path) || path.Clean(d.Path) != d.Path:
		return fail("invalid request", errors.New("path must be absolute and clean"))
	case d.Path == "/":
		return fail("invalid request", errors.New("not /"))
	}
	if err := checkPathText(d.Path); err != nil {
		return fail("invalid request", err)
	}
	uid, gid, err := h.idCache().resolve(ctx, h.Run, d.Owner, d.Group)
	if err != nil {
		return fail("set owner/group", err)
	}
	root, err := h.ops(ctx)
	if err != nil {
		return fail("start", err)
	}
	pl, err := place(root, path.Dir(d.Path), uid)
	if err != nil {
		return fail("check folders", err)
	}
	ops, as, release, err := actor(ctx, h, pl)
	if err != nil {
		return fail("check folders", err)
	}
	defer release()
	me, err := h.writerUID(ctx)
	if err != nil {
		return fail("start", err)
	}
	cur := pl.dir
	for _, m := range pl.missing {
		cur = path.Join(cur, m)
		if err := ops.mkdir(cur); err != nil {
			return fail("create "+cur, notRoot(me, as, err))
		}
		if err := ops.chmod(cur, 0o755); err != nil {
			return fail("chmod "+cur, err)
		}
	}
	target := path.Join(cur, path.Base(d.Path))
	created := false
	fi, err := ops.lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := ops.mkdir(target); err != nil {
			return fail("create", err)
		}
		if fi, err = ops.lstat(target); err != nil {
			return fail("stat", err)
		}
		created = true
	case err != nil:
		return fail("stat", err)
	}
	if !fi.IsDir() {
		return fail("check", fmt.Errorf("%s exists and is not a directory (%s)", target, fi.Mode().Type()))
	}
	haveUID, haveGID, ok := fileOwner(fi)
	if !ok {
		return fail("stat", errors.New("the host did not say who owns it"))
	}
	if as != noUser && haveUID != as {
		return fail("check folders", &UnsafePathError{target, fmt.Sprintf("it belongs to uid %d but sits in a folder of uid %d, who could swap it for a link: hako does not change it as root there (give it to uid %d by hand, or remove it)", haveUID, as, as)})
	}
	if (uid != noUser && uid != haveUID) || (gid != noUser && gid != haveGID) {
		if err := ops.chown(target, pick(uid, haveUID), pick(gid, haveGID)); err != nil {
			return fail("set owner/group", err)
		}
	}
	mode := d.Mode
	if !d.SetMode && created {
		mode, d.SetMode = 0o755, true
	}
	if d.SetMode {
		if err := ops.chmod(target, mode&modeBits); err != nil {
			return fail("chmod", err)
		}
	}
	return nil
}

func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
