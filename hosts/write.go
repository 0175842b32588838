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
	"strings"
)

// fileOps is the little file API an atomic write needs; SFTP and the local
// file system both provide it, so SSHHost and Local share writeAtomic.
type fileOps interface {
	createExcl(name string) (tempFile, error) // O_WRONLY|O_CREATE|O_EXCL
	rename(oldname, newname string) error     // must replace newname atomically
	remove(name string) error
	stat(name string) (fs.FileInfo, error)
}

type tempFile interface {
	Chmod(fs.FileMode) error
	Write([]byte) (int, error)
	Sync() error
	Close() error
}

type runFunc func(ctx context.Context, cmd string) (Result, error)

// validateMarker is printed on stdout by the post-write script just before
// the Validate command starts, so a failure can be told apart from a chown
// failure without guessing from exit codes.
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
	return nil
}

// writeAtomic: temp file next to the target (same file system, so the
// rename is atomic), mode set before any content exists, content, fsync,
// then chown + validate in one command, then rename over the target. Any
// failure removes the temp file and leaves the target as it was.
func writeAtomic(ctx context.Context, host string, ops fileOps, run runFunc, w FileWrite) (err error) {
	fail := func(step string, err error) error {
		return fmt.Errorf("host %q: write %s: %s: %w", host, w.Path, step, err)
	}
	if err := checkFileWrite(w); err != nil {
		return fail("invalid request", err)
	}
	if err := ctx.Err(); err != nil {
		return fail("before start", err)
	}
	dir, base := path.Dir(w.Path), path.Base(w.Path)
	tmp := path.Join(dir, "."+base+".hako-"+randomSuffix())

	f, err := ops.createExcl(tmp)
	if err != nil {
		// Look at the parent only now: it costs a round trip.
		if st, serr := ops.stat(dir); errors.Is(serr, fs.ErrNotExist) {
			return fail("create temp file", fmt.Errorf("parent directory %s does not exist (a directory task must create it first)", dir))
		} else if serr == nil && !st.IsDir() {
			return fail("create temp file", fmt.Errorf("parent %s is not a directory", dir))
		}
		return fail("create temp file "+tmp, err)
	}
	defer func() {
		if err != nil {
			if rerr := ops.remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = fmt.Errorf("%w (and removing the temp file %s failed: %v)", err, tmp, rerr)
			}
		}
	}()
	// chmod before the content goes in, so it is never readable by others.
	if err := f.Chmod(w.Mode & modeBits); err != nil {
		f.Close()
		return fail("chmod temp file", err)
	}
	if _, err := f.Write(w.Content); err != nil {
		f.Close()
		return fail("write temp file", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fail("fsync temp file", err)
	}
	if err := f.Close(); err != nil {
		return fail("close temp file", err)
	}

	if script, chown := postWriteScript(w, tmp); script != "" {
		res, err := run(ctx, script)
		if err != nil {
			return fail("set owner/validate", err)
		}
		validating := bytes.HasPrefix(res.Stdout, []byte(validateMarker))
		if validating {
			res.Stdout = res.Stdout[len(validateMarker):]
		}
		if res.ExitCode != 0 {
			switch {
			case validating:
				return fail("validate", &ValidateError{Command: w.Validate, Result: res})
			case chown:
				return fail("set owner/group", fmt.Errorf("exit code %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr))))
			default:
				return fail("validate", fmt.Errorf("could not start (exit code %d): %s", res.ExitCode, strings.TrimSpace(string(res.Stderr))))
			}
		}
	}

	if err := ctx.Err(); err != nil {
		return fail("before rename", err)
	}
	if err := ops.rename(tmp, w.Path); err != nil {
		return fail("rename temp file over target", err)
	}
	return nil
}

// postWriteScript builds the one command run after the content is written:
// chown (by name or id), chmod again when chown would have cleared
// setuid/setgid, then Validate with the quoted temp path for %s.
func postWriteScript(w FileWrite, tmp string) (script string, chown bool) {
	var lines []string
	if w.Owner != "" || w.Group != "" {
		spec := w.Owner
		if w.Group != "" {
			spec += ":" + w.Group
		}
		lines = append(lines, "chown -- "+Quote(spec)+" "+Quote(tmp)+" || exit")
		if w.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			lines = append(lines, fmt.Sprintf("chmod %04o %s || exit", unixMode(w.Mode), Quote(tmp)))
		}
	}
	if w.Validate != "" {
		lines = append(lines, "printf '%s' "+Quote(validateMarker))
		lines = append(lines, strings.ReplaceAll(w.Validate, "%s", Quote(tmp)))
	}
	return strings.Join(lines, "\n"), w.Owner != "" || w.Group != ""
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
