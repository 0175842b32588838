package tasks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
)

// File manages a regular file's content, mode and owner. Writes are atomic
// (temp file in the same folder, validated, renamed over the target).
type File struct {
	addr         Address
	path         string
	content      []byte
	sensitive    bool
	mode         int // -1: keep (0644 for a new file)
	owner, group string
	validate     string
}

func init() {
	register(Kind{
		Name: "file",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "path", Required: true}, {Name: "content"}, {Name: "source"},
			{Name: "mode"}, {Name: "owner"}, {Name: "group"}, {Name: "validate"},
		}},
		Decode:         decodeFile,
		SensitiveAttrs: []string{"content"},
		NewPlanned:     func() any { return new(FilePlan) },
	})
}

func decodeFile(a *attrs.Attrs) Task {
	f := &File{addr: Address{a.Kind, a.Name}, path: a.AbsPath("path"), mode: a.Mode("mode"),
		owner: ownerAttr(a, "owner"), group: ownerAttr(a, "group"), validate: a.String("validate")}
	switch {
	case a.Has("content") == a.Has("source"):
		a.Errorf("Invalid file task", "set exactly one of content or source.")
	case a.Has("content"):
		f.content = []byte(a.String("content"))
		f.sensitive = a.Sensitive("content")
	default:
		f.content = readSource(a) // source cannot be sensitive: the plan refuses that
	}
	if f.validate != "" && !strings.Contains(f.validate, "%s") {
		a.AttrErrorf("validate", "Invalid validate command", "validate must contain %%s, which stands for the uploaded temp file.")
	}
	return f
}

// readSource reads the plan-relative file named by source. Only a regular
// file: /dev/zero would be read until memory runs out, and /dev/stdin or
// a FIFO would wait for a writer.
func readSource(a *attrs.Attrs) []byte {
	src := a.String("source")
	if src == "" {
		return nil
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(a.Dir, src)
	}
	b, err := readRegular(src)
	if err != nil {
		a.AttrErrorf("source", "Cannot read source file", "%v.", err)
	}
	return b
}

func readRegular(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", name, fi.Mode().Type())
	}
	return io.ReadAll(f)
}

func (f *File) Address() Address { return f.addr }

// ManagedPath is the file the task writes.
func (f *File) ManagedPath() string { return f.path }

// PlannedContent is the content the task writes, and whether it derives
// from a sensitive value (then it must not be shown).
func (f *File) PlannedContent() (content []byte, sensitive bool) { return f.content, f.sensitive }

// WrittenPaths: the file.
func (f *File) WrittenPaths() []string { return []string{f.path} }

// Confined: the write changes the file alone (its folder must exist),
// unless a validate command runs, which may do anything.
func (f *File) Confined() (confined, createsFolders bool) { return f.validate == "", false }

// Cuts: what a file at this path can cut, by where it is.
func (f *File) Cuts(Env) Cuts { return PathCuts(f.path) }

func (f *File) Probes() []Probe {
	return []Probe{probe.Stat{Path: f.path}, f.read(), probe.Leftovers{Dir: path.Dir(f.path)},
		probe.Stat{Path: path.Dir(f.path)}}
}

// read is the file's read probe: the host sends the content back only
// when its hash is not the planned content's. Not for sensitive content:
// whether the host reads the file a second time would tell anyone who
// can write it (and watch the host) whether a guess of the secret is
// right, from a plan alone.
func (f *File) read() probe.File {
	if f.sensitive {
		return probe.File{Path: f.path}
	}
	return probe.File{Path: f.path, Expect: sha256Hex(f.content)}
}

// NeedsFolder is the folder the file is written into: the write does not
// create it.
func (f *File) NeedsFolder() string { return path.Dir(f.path) }

// FilePlan is a file task's planned change beyond its content (which is
// in Change.Content): what Apply needs to know of the host's file.
type FilePlan struct {
	// Exists: the file is on the host; its owner (UID, GID) is kept when
	// the plan sets none.
	Exists bool      `json:"exists"`
	UID    int       `json:"uid"`
	GID    int       `json:"gid"`
	Mode   OctalMode `json:"mode"`  // the mode the file ends with
	Write  bool      `json:"write"` // content, mode or owner differ (or the file is missing)
	// Leftovers are temp files of an interrupted write to remove first.
	Leftovers []string `json:"leftovers,omitempty"`
}

func (f *File) Check(s *State, env Env) (*Change, error) {
	fi := s.Stat(f.path)
	if fi.Exists && fi.Type != "regular file" {
		return nil, fmt.Errorf("%s exists and is a %s, not a regular file", f.path, fi.Type)
	}
	d := &FilePlan{Exists: fi.Exists, UID: fi.UID, GID: fi.GID, Mode: OctalMode(f.endMode(fi))}
	c := &Change{Address: f.addr, Planned: d}
	c.Attrs = metaChanges(fi, int(d.Mode), f.owner, f.group)
	c.Content = f.contentChange(s, fi)
	d.Write = !fi.Exists || c.Content != nil || len(c.Attrs) > 0
	// A leftover may hold a secret: removing it is a change even when the
	// file itself is right. Only its name is shown, never its content.
	if lo := s.Leftovers(path.Dir(f.path)); lo.RootOnly {
		d.Leftovers = lo.Of(f.path)
		for _, t := range d.Leftovers {
			c.Attrs = append(c.Attrs, AttrChange{"leftover temp file", t, ""})
		}
	}
	switch {
	case !fi.Exists:
		c.Action, c.Summary = Create, "create "+f.path
	case d.Write:
		c.Action, c.Summary = Update, "update "+f.path
	case len(d.Leftovers) > 0:
		c.Action, c.Summary = Update, f.path+": remove leftover temp file(s)"
	default:
		c.Summary = f.path
	}
	return c, nil
}

// LeftoverWarning says which leftover temp files next to the path hako
// leaves, because their folder is not root's alone ("" when none): removing
// by path where another user can write is what root must not do.
func (f *File) LeftoverWarning(s *State) string {
	lo := s.Leftovers(path.Dir(f.path))
	temps := lo.Of(f.path)
	if lo.RootOnly || len(temps) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: leftover temp file(s) of an interrupted write next to %s may hold its content: %s; remove them by hand (hako does so only where root alone can write the folder and all above)",
		f.addr, f.path, strings.Join(temps, ", "))
}

// newFileMode is the mode of a file the task creates without a mode:
// 0600 when its content is sensitive, else 0644.
func (f *File) newFileMode() int {
	if f.sensitive {
		return 0o600
	}
	return 0o644
}

// endMode is the mode the file has after apply. With no mode set, an
// existing file keeps its mode, except that sensitive content is not left
// readable by others: a world-readable file drops its group and other
// bits (0644 becomes 0600, 0755 becomes 0700), as a new file would get
// 0600. A mode set in the plan is the plan's choice.
func (f *File) endMode(fi FileInfo) int {
	switch {
	case f.mode >= 0:
		return f.mode
	case !fi.Exists:
		return f.newFileMode()
	case f.sensitive && fi.Mode&0o004 != 0:
		return fi.Mode &^ 0o077
	}
	return fi.Mode
}

// contentChange compares the host's content with the plan's; nil when
// they are the same. Content the probe could not read (too large, or not
// readable) is compared by hash where known and never shown as empty.
func (f *File) contentChange(s *State, fi FileInfo) *ContentChange {
	if !fi.Exists {
		return NewContentChange(f.path, nil, f.content, f.sensitive)
	}
	got := probe.Answer[Content](s.Answers, f.read())
	switch {
	case got.SHA256 != "" && got.SHA256 == sha256Hex(f.content):
		return nil
	case got.Readable && bytes.Equal(got.Data, f.content):
		return nil
	case got.Readable:
		return NewContentChange(f.path, got.Data, f.content, f.sensitive).hostMode(fi.Mode)
	}
	return newUnreadContentChange(f.path, fi.Size, got.SHA256, f.content, f.sensitive).hostMode(fi.Mode)
}

func (f *File) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	d := c.Planned.(*FilePlan)
	if len(d.Leftovers) > 0 {
		if err := removeLeftovers(ctx, h, f.path, d.Leftovers); err != nil {
			return err
		}
	}
	if !d.Write {
		return nil
	}
	// A rewrite must not lose what the plan does not manage: endMode
	// keeps an unmanaged mode.
	w := hosts.FileWrite{Path: f.path, Content: f.content, Mode: fileMode(int(d.Mode)),
		Owner: f.owner, Group: f.group, Validate: f.validate}
	if w.Owner == "" && d.Exists {
		w.Owner = keepOwner(d.UID)
	}
	if w.Group == "" && d.Exists {
		w.Group = keepOwner(d.GID)
	}
	err := h.WriteFile(ctx, w)
	var verr *hosts.ValidateError
	if f.sensitive && errors.As(err, &verr) {
		// A validator may quote the offending line: the secret.
		return fmt.Errorf("validate command %q failed with exit code %d; the target was not changed (its output is hidden: the content is sensitive)",
			f.validate, verr.Result.ExitCode)
	}
	return err
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
