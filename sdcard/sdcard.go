// Package sdcard prepares the boot partition of a freshly flashed
// Raspberry Pi OS card so that its first boot, with no monitor or
// keyboard, creates the plan's first user and lets it in over SSH with the
// plan's key only, with the passwordless sudo hako needs.
//
// Which files a card's first boot reads depends on the image: see
// Generation. Everything is written inside the boot partition's directory
// (through os.Root: no path or symbolic link leads out of it), each file
// atomically, and only after every check has passed, so that a refusal
// leaves the card as it was. Running it again gives the same files; the
// random password of userconf.txt is kept, not made anew.
package sdcard

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Outcome says what happened to one file.
type Outcome string

const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	Kept      Outcome = "kept" // present already and left as it is on purpose
)

// FileOutcome is one file of the boot partition and what was done to it.
type FileOutcome struct {
	File    string
	Outcome Outcome
	Note    string // what first boot does with it
}

// Result is what Prepare did.
type Result struct {
	Dir        string
	Generation Generation
	User       string
	Key        PublicKey
	Files      []FileOutcome
}

// Prepare writes the first-boot files for user, with key, to the boot
// partition mounted on dir. rnd supplies the random password and salt of
// userconf.txt (crypto/rand.Reader; tests pass their own).
func Prepare(dir, user string, key PublicKey, rnd io.Reader) (*Result, error) {
	if err := checkUserName(user); err != nil {
		return nil, err
	}
	if key.AuthorizedKey == "" {
		return nil, errors.New("no public key")
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("the boot partition: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: give the directory the card's boot partition is mounted on", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	listing, err := listBoot(root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	gen, err := detect(dir, root, listing)
	if err != nil {
		return nil, err
	}
	c := &card{dir: dir, root: root, listing: listing}
	switch gen {
	case FirstRun:
		err = firstRunFiles(c, user, key, rnd)
	case CloudInit:
		err = cloudInitFiles(c, user, key)
	}
	if err != nil {
		return nil, err
	}
	res := &Result{Dir: dir, Generation: gen, User: user, Key: key}
	for _, p := range c.planned {
		a, err := c.apply(p)
		if err != nil {
			return res, err
		}
		res.Files = append(res.Files, a)
	}
	return res, nil
}

// card is a boot partition being prepared: files are planned first, and
// written only when every one of them could be planned.
type card struct {
	dir     string
	root    *os.Root
	listing bootListing
	planned []planned
}

type planned struct {
	name string
	data []byte // nil with keep
	perm os.FileMode
	keep bool
	note string
}

// existing returns the name, as stored, of the first of names the card
// has (FAT ignores case; a test directory does not).
func (c *card) existing(names ...string) (string, bool) {
	for _, n := range names {
		if stored, ok := c.listing[strings.ToLower(n)]; ok {
			return stored, true
		}
	}
	if len(names) > 0 {
		return names[0], false
	}
	return "", false
}

// read returns a regular file's content, nil when it does not exist. A
// symbolic link, directory or device is refused: hako writes plain files
// in the boot partition and nowhere else.
func (c *card) read(name string) ([]byte, error) {
	st, err := c.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s/%s is not a regular file (%s): hako sdcard only writes plain files", c.dir, name, st.Mode().Type())
	}
	return c.root.ReadFile(name)
}

func (c *card) write(name string, data []byte, perm os.FileMode, note string) {
	if data == nil {
		data = []byte{}
	}
	c.planned = append(c.planned, planned{name: name, data: data, perm: perm, note: note})
}

func (c *card) keep(name, note string) {
	c.planned = append(c.planned, planned{name: name, keep: true, note: note})
}

// apply writes one planned file if its content differs: to a temporary
// file beside it, then renamed over it.
func (c *card) apply(p planned) (FileOutcome, error) {
	a := FileOutcome{File: p.name, Note: p.note}
	if p.keep {
		a.Outcome = Kept
		return a, nil
	}
	old, err := c.read(p.name)
	if err != nil {
		return a, err
	}
	switch {
	case old == nil:
		a.Outcome = Created
	case string(old) == string(p.data):
		a.Outcome = Unchanged
		return a, nil
	default:
		a.Outcome = Updated
	}
	tmp := "." + p.name + ".hako-tmp"
	f, err := c.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, p.perm)
	if err != nil {
		return a, fmt.Errorf("writing %s/%s: %w", c.dir, p.name, err)
	}
	_, err = f.Write(p.data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = c.root.Rename(tmp, p.name)
	}
	if err != nil {
		_ = c.root.Remove(tmp)
		return a, fmt.Errorf("writing %s/%s: %w", c.dir, p.name, err)
	}
	return a, nil
}

// Report prints what was done: the card's generation, the user and the
// key's fingerprint, one line per file. Never a password: there is none to
// print (only its hash was ever made).
func (r *Result) Report(w io.Writer, source string) {
	fmt.Fprintf(w, "%s: %s\n", r.Dir, r.Generation)
	if source != "" {
		source = " (" + source + ")"
	}
	fmt.Fprintf(w, "First user %s%s, key %s\n  %s %s\n", r.User, source, r.Key.Path, r.Key.Fingerprint, r.Key.Type)
	width := 0
	for _, a := range r.Files {
		width = max(width, len(a.File))
	}
	for _, a := range r.Files {
		fmt.Fprintf(w, "  %-9s  %-*s  %s\n", a.Outcome, width, a.File, a.Note)
	}
}
