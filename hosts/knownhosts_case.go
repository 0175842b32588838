package hosts

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/skeema/knownhosts"
)

// knownHostsFiles is what loadKnownHosts read: the database, the files
// it found (in order), and the lower-cased copies it was built from
// (copy -> the file it copies), to name entries by their real file.
type knownHostsFiles struct {
	db     *knownhosts.HostKeyDB
	read   []string
	copies map[string]string
}

// realName is the file an entry of the database comes from.
func (k *knownHostsFiles) realName(file string) string {
	if r, ok := k.copies[file]; ok {
		return r
	}
	return file
}

// loadKnownHosts reads known_hosts files into one database, as OpenSSH
// reads its UserKnownHostsFile and GlobalKnownHostsFile lists: the first
// must exist (it is where new keys are written), the others are skipped
// when they do not. Host names are matched without regard to case, as
// OpenSSH does: x/crypto compares patterns byte for byte, so a
// hand-written "[LocalHost]:2222" entry would not match the lower-cased
// name hako looks up and a different key could be recorded beside it.
// When a plain pattern has upper case, the database is built from a copy
// with those patterns lowered; every line keeps its number, so entries are
// still reported by the real file and line (realName).
func loadKnownHosts(files ...string) (*knownHostsFiles, error) {
	k := &knownHostsFiles{copies: map[string]string{}}
	var paths []string
	for i, file := range files {
		b, err := os.ReadFile(file)
		if i > 0 && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		k.read = append(k.read, file)
		lowered, changed := lowerHostPatterns(b)
		if !changed {
			paths = append(paths, file)
			continue
		}
		// The copy is made beside the first file, in the user's own
		// folder (also for a system-wide file), never in $TMPDIR: there,
		// another user who can write the folder could swap the copy for
		// their own keys between this write and NewDB reading it by name.
		// CreateTemp opens it O_EXCL, mode 0600.
		tmp, err := os.CreateTemp(filepath.Dir(files[0]), ".known_hosts.hako-*")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		k.copies[tmp.Name()] = file
		paths = append(paths, tmp.Name())
		if _, err := tmp.Write(lowered); err != nil {
			tmp.Close()
			return nil, err
		}
		if err := tmp.Close(); err != nil {
			return nil, err
		}
	}
	db, err := knownhosts.NewDB(paths...)
	if err != nil {
		msg := err.Error()
		for c, f := range k.copies {
			msg = strings.ReplaceAll(msg, c, f)
		}
		return nil, errors.New(msg)
	}
	k.db = db
	return k, nil
}

// lowerHostPatterns lowers the host pattern field of every entry, after a
// @cert-authority or @revoked marker; negations and wildcards are
// unaffected by case. Hashed names ("|1|salt|hash") stay as they are:
// their hash is of the lower-cased name already (OpenSSH lowers a name
// before hashing or looking it up), and base64 is case-sensitive. Comments
// and everything after the pattern stay byte for byte.
func lowerHostPatterns(b []byte) ([]byte, bool) {
	lines := bytes.SplitAfter(b, []byte("\n"))
	changed := false
	for i, line := range lines {
		start, end := patternField(line)
		if start == end || line[start] == '|' {
			continue
		}
		if lp := bytes.ToLower(line[start:end]); !bytes.Equal(lp, line[start:end]) {
			lines[i], changed = append(append(bytes.Clone(line[:start]), lp...), line[end:]...), true
		}
	}
	return bytes.Join(lines, nil), changed
}

// patternField finds the host pattern of a known_hosts line as x/crypto
// parses it (start == end: a blank or comment line).
func patternField(line []byte) (start, end int) {
	word := func(from int) (int, int) {
		for from < len(line) && isBlank(line[from]) {
			from++
		}
		to := from
		for to < len(line) && !isBlank(line[to]) && line[to] != '\n' && line[to] != '\r' {
			to++
		}
		return from, to
	}
	start, end = word(0)
	if start == end || line[start] == '#' {
		return 0, 0
	}
	switch w := string(line[start:end]); {
	case w == "@cert-authority" || w == "@revoked":
		start, end = word(end)
	case w[0] == '@':
		// Not a marker to x/crypto, which compares markers exactly, but
		// lowered ("@reVoked" -> "@revoked") it would become one: left
		// as it is (no host name starts with "@").
		return 0, 0
	}
	return start, end
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }
