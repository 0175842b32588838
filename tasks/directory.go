package tasks

import (
	"context"
	"fmt"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
)

// Directory ensures a directory exists with the given mode and owner.
type Directory struct {
	addr         Address
	path         string
	mode         int // -1: not managed (0755 for a new directory)
	owner, group string
}

func init() {
	register(Kind{
		Name: "directory",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "path", Required: true}, {Name: "mode"}, {Name: "owner"}, {Name: "group"},
		}},
		Decode: func(a *attrs.Attrs) Task {
			return &Directory{addr: Address{a.Kind, a.Name}, path: a.AbsPath("path"), mode: a.Mode("mode"),
				owner: ownerAttr(a, "owner"), group: ownerAttr(a, "group")}
		},
	})
}

func (d *Directory) Address() Address { return d.addr }

// WrittenPaths: the folder (its mode and owner).
func (d *Directory) WrittenPaths() []string { return []string{d.path} }

// Confined: the folder, and the missing folders above it, which Apply
// creates.
func (d *Directory) Confined() (confined, createsFolders bool) { return true, true }

// Cuts: what a folder at this path can cut, by where it is (sshd refuses
// keys and configuration under a folder others can write).
func (d *Directory) Cuts(Env) Cuts { return PathCuts(d.path) }

func (d *Directory) Probes() []Probe { return []Probe{probe.Stat{Path: d.path}} }

func (d *Directory) Check(s *State, env Env) (*Change, error) {
	fi := s.Stat(d.path)
	if fi.Exists && fi.Type != "directory" {
		return nil, fmt.Errorf("%s exists and is a %s, not a directory", d.path, fi.Type)
	}
	mode := d.mode
	if mode < 0 && !fi.Exists {
		mode = 0o755
	}
	c := &Change{Address: d.addr, Attrs: metaChanges(fi, mode, d.owner, d.group), Summary: d.path}
	switch {
	case !fi.Exists:
		c.Action, c.Summary = Create, "create "+d.path
	case len(c.Attrs) > 0:
		c.Action, c.Summary = Update, "update "+d.path
	}
	return c, nil
}

// Apply creates the directory (and missing parents) and sets what differs.
// The host does it over SFTP, not with mkdir/chown/chmod by path as root:
// in a folder a user owns it works as that user, and it refuses folders
// others could change (see hosts.FileWrite).
func (d *Directory) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	dir := hosts.Dir{Path: d.path, Owner: d.owner, Group: d.group}
	if d.mode >= 0 {
		dir.Mode, dir.SetMode = fileMode(d.mode), true
	}
	return h.MakeDir(ctx, dir)
}

// runOK runs cmd and turns a non-zero exit into an error with its output.
func runOK(ctx context.Context, h hosts.Host, cmd string) error {
	res, err := h.Run(ctx, cmd)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("exit status %d: %s", res.ExitCode, tail(res.Stderr, res.Stdout))
	}
	return nil
}

// tail is the last few lines of a command's error output (or its output
// when it wrote no errors), for failure messages.
func tail(stderr, stdout []byte) string {
	out := strings.TrimSpace(string(stderr))
	if out == "" {
		out = strings.TrimSpace(string(stdout))
	}
	lines := strings.Split(out, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}
