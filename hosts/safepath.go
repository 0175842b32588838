package hosts

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/pkg/sftp"
)

// hako acts as root on the host. A folder on the way to a path that another
// user owns, or may write, lets that user swap what root is about to touch
// (the temp file for a link to /etc/shadow, ~/.ssh for a link to /etc)
// between any check and the act, and root would then chown or write the
// link's target. The rule is OpenSSH's StrictModes: every folder from /
// down to the one worked in must be owned by root or by the user the file
// is for, and writable by no one else. When one belongs to that user, the
// work is done as the user (who can then only fool themself); a folder of
// a third user, or one others can write, is refused.

// noUser is an unknown or unset user or group id.
const noUser = -1

// pathOps is what place needs to walk a path: no-follow stat and readlink.
type pathOps interface {
	lstat(name string) (fs.FileInfo, error)
	readlink(name string) (string, error)
}

// placement is where some work happens and as whom.
type placement struct {
	dir     string   // the folder, every symlink on the way resolved
	missing []string // names below dir that do not exist yet, outermost first
	user    int      // the user owning a folder on the way (the work is done as them), or noUser
}

// UnsafePathError is a refusal to act in a folder someone other than root
// and the file's owner could change.
type UnsafePathError struct {
	Path   string // the folder at fault
	Reason string
}

func (e *UnsafePathError) Error() string {
	return "refusing to work in " + e.Path + ": " + e.Reason
}

// maxLinks bounds the symlinks followed, as the kernel's ELOOP does.
const maxLinks = 40

// place walks dir from / and checks each folder on the way, following
// symlinks itself (so that each folder they lead through is checked too).
// forUID is the user the file or folder will belong to (noUser: whoever
// writes it). A missing part ends the walk: what is missing is created by
// whoever does the work, inside the last folder that exists.
func place(ops pathOps, dir string, forUID int) (placement, error) {
	p := placement{dir: "/", user: noUser}
	if !path.IsAbs(dir) {
		return p, fmt.Errorf("%s is not an absolute path", dir)
	}
	// open: p.dir is writable by others but sticky, so its entries are
	// safe from them only while they belong to root or the user.
	open := false
	opens := map[string]bool{}
	visit := func(name string, fi fs.FileInfo) error {
		uid, _, ok := fileOwner(fi)
		if !ok {
			return fmt.Errorf("%s: the host did not say who owns it", name)
		}
		// A symlink cannot be changed, only replaced by whoever may write
		// its folder: its owner counts only in a folder others can write.
		if uid != 0 && (fi.IsDir() || open) {
			switch {
			case forUID == 0:
				return &UnsafePathError{name, fmt.Sprintf("it belongs to uid %d, who could swap what is in it for a link before root uses it; a file or folder for root cannot be kept there safely (give the folder to root, or the file to uid %d)", uid, uid)}
			case forUID != noUser && uid != forUID:
				return &UnsafePathError{name, fmt.Sprintf("it belongs to uid %d, not to uid %d whom the file or folder is for; uid %d could swap what is in it for a link (give it to root or to uid %d)", uid, forUID, uid, forUID)}
			case p.user != noUser && uid != p.user:
				return &UnsafePathError{name, fmt.Sprintf("it belongs to uid %d, but a folder above it to uid %d; each could fool work done as the other", uid, p.user)}
			}
			p.user = uid
		}
		if !fi.IsDir() {
			return nil // a symlink: its owner is what counts
		}
		m := fi.Mode()
		open = m.Perm()&0o022 != 0
		opens[name] = open
		if open && m&fs.ModeSticky == 0 {
			return &UnsafePathError{name, fmt.Sprintf("it is writable by its group or by others (mode %04o), who could swap what is in it for a link", unixMode(m))}
		}
		return nil
	}
	lstat := prefetch(ops, dir)
	fi, err := lstat("/")
	if err != nil {
		return p, fmt.Errorf("stat /: %w", err)
	}
	if err := visit("/", fi); err != nil {
		return p, err
	}
	rest := splitPath(dir)
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case ".":
			continue
		case "..":
			p.dir = path.Dir(p.dir) // p.dir has no symlinks, so this is its real parent
			open = opens[p.dir]
			continue
		}
		next := path.Join(p.dir, c)
		fi, err := lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			for _, r := range rest {
				if r == ".." {
					return p, fmt.Errorf("%s does not exist, and a symlink on the way leads through it to ..", next)
				}
			}
			p.missing = append([]string{c}, rest...)
			rest = nil
			continue
		case err != nil:
			return p, fmt.Errorf("stat %s: %w", next, err)
		}
		if err := visit(next, fi); err != nil {
			return p, err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if links++; links > maxLinks {
				return p, fmt.Errorf("%s: too many levels of symbolic links", dir)
			}
			target, err := ops.readlink(next)
			if err != nil {
				return p, fmt.Errorf("readlink %s: %w", next, err)
			}
			if path.IsAbs(target) {
				p.dir, open = "/", opens["/"]
			}
			rest = append(splitPath(target), rest...)
		case fi.IsDir():
			p.dir = next
		default:
			return p, fmt.Errorf("%s is not a directory", next)
		}
	}
	if open {
		// Sticky keeps others from moving root's entries, but the folder
		// worked in gets new ones, which others could take first.
		return p, &UnsafePathError{p.dir, "it is writable by others (a sticky folder such as /tmp), who could take the names hako means to create"}
	}
	return p, nil
}

// prefetch asks for all of dir's prefixes at once (SFTP answers requests
// in flight together, so a walk costs about one round trip, not one per
// folder) and returns an lstat that uses those answers, each once, and
// asks anew for anything else (where a symlink led). The answers may come
// from slightly different moments; that is no weaker than asking in turn,
// as a folder root owns and no one else may write cannot change under us,
// and anything else is worked in as its owner or refused.
func prefetch(ops pathOps, dir string) func(string) (fs.FileInfo, error) {
	type answer struct {
		fi  fs.FileInfo
		err error
	}
	names := []string{"/"}
	cur := "/"
	for _, c := range splitPath(path.Clean(dir)) {
		cur = path.Join(cur, c)
		names = append(names, cur)
	}
	answers := make([]answer, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fi, err := ops.lstat(n)
			answers[i] = answer{fi, err}
		}()
	}
	wg.Wait()
	var mu sync.Mutex
	known := make(map[string]answer, len(names))
	for i, n := range names {
		known[n] = answers[i]
	}
	return func(name string) (fs.FileInfo, error) {
		mu.Lock()
		a, ok := known[name]
		delete(known, name)
		mu.Unlock()
		if ok {
			return a.fi, a.err
		}
		return ops.lstat(name)
	}
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// fileOwner reads the owner from a FileInfo of SFTP or of the local file
// system.
func fileOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	switch s := fi.Sys().(type) {
	case *sftp.FileStat:
		return int(s.UID), int(s.GID), true
	}
	return localOwner(fi)
}
