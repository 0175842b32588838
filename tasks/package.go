package tasks

import (
	"bytes"
	"context"
	_ "embed" // the apply script
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
)

// Package installs or removes Debian packages with apt. All names are
// queried with one dpkg-query and installed with one apt-get call.
//
// A package is not a Cutter: the guard restores files, not packages, so
// removing openssh-server is not something a rollback could undo.
type Package struct {
	addr       Address
	names      []string
	present    bool
	cacheValid int    // seconds the package lists count as fresh
	lockWait   int    // seconds to wait in all for apt's and dpkg's locks
	quoted     string // names, quoted for sh
}

func init() {
	register(Kind{
		Name: "package",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "names", Required: true}, {Name: "state"}, {Name: "cache_valid_seconds"}, {Name: "lock_timeout_seconds"},
		}},
		Decode:     decodePackage,
		NewPlanned: func() any { return new(PackagePlan) },
	})
}

var debName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$`)

func decodePackage(a *attrs.Attrs) Task {
	p := &Package{addr: Address{a.Kind, a.Name}, names: a.Strings("names"), present: true, cacheValid: 3600, lockWait: 120}
	for _, n := range p.names {
		if !debName.MatchString(n) {
			a.AttrErrorf("names", "Invalid package name", "%q is not a Debian package name.", n)
		}
	}
	switch s := a.String("state"); s {
	case "", "present":
	case "absent":
		p.present = false
	default:
		a.AttrErrorf("state", "Invalid state", `state must be "present" or "absent", got %q.`, s)
	}
	p.quoted = quoteAll(p.names)
	if a.Has("cache_valid_seconds") {
		if n := a.Int("cache_valid_seconds"); n >= 0 {
			p.cacheValid = n
		}
	}
	if a.Has("lock_timeout_seconds") {
		p.lockWait = a.Int("lock_timeout_seconds") // a.Int refuses negative numbers
	}
	return p
}

func (p *Package) Address() Address { return p.addr }

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = hosts.Quote(n)
	}
	return strings.Join(q, " ")
}

// Probes asks dpkg-query about every name; for state present also how
// fresh apt's lists are and which names are virtual, which costs nothing
// more when all names are installed.
func (p *Package) Probes() []Probe { return []Probe{p.request()} }

func (p *Package) request() probe.Packages { return probe.Packages{Names: p.names, Apt: p.present} }

// fresh judges the lists as Ansible's apt module does: by
// update-success-stamp, else by the lists directory, never by the lists
// themselves, whose mtimes apt sets to the mirror's publication time.
// An update of hako's that failed since then makes them stale. valid 0
// means never fresh: the host's clock counts whole seconds, so lists
// updated a moment ago are 0 s old, and "at most 0 s old" would skip the
// update asked for on every run.
func fresh(l probe.ListsAge, valid int) bool {
	t := l.Stamp
	if t < 0 {
		t = l.Dir
	}
	return valid > 0 && l.Have && t >= 0 && l.Failed < t && l.Now-t <= int64(valid)
}

// pending lists the names that need work, in plan order.
func (p *Package) pending(got map[string]bool) []string {
	var out []string
	for _, n := range p.names {
		if got[baseName(n)] != p.present {
			out = append(out, n)
		}
	}
	return out
}

func baseName(n string) string {
	base, _, _ := strings.Cut(n, ":")
	return base
}

// virtualError refuses virtual names: apt installs a provider and exits 0,
// but dpkg never knows the name, so the task would never converge.
func virtualError(todo []string, virtual map[string][]string) error {
	var msgs []string
	for _, n := range todo {
		provs, ok := virtual[n]
		if !ok {
			provs, ok = virtual[baseName(n)]
		}
		if ok {
			msgs = append(msgs, fmt.Sprintf("%s is a virtual package (provided by %s)", n, strings.Join(provs, ", ")))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; ") + ": name the real package")
}

// PackagePlan is a package task's planned change: the names to install
// or remove, and for an install whether the package lists need apt-get
// update first.
type PackagePlan struct {
	Names  []string `json:"names"`
	Update bool     `json:"update"`
}

func (p *Package) Check(s *State, env Env) (*Change, error) {
	f := probe.Answer[probe.PackagesInfo](s.Answers, p.request())
	todo := p.pending(f.Installed)
	c := &Change{Address: p.addr, Summary: strings.Join(p.names, ", ")}
	if len(todo) == 0 {
		return c, nil
	}
	before, after, verb := "absent", "present", "install "
	c.Action = Create
	if !p.present {
		before, after, verb = "present", "absent", "remove "
		c.Action = Delete
	} else if err := virtualError(todo, f.Virtual); err != nil {
		return nil, err
	}
	c.Planned = &PackagePlan{Names: todo, Update: p.present && (f.Lists == nil || !fresh(*f.Lists, p.cacheValid))}
	for _, n := range todo {
		c.Attrs = append(c.Attrs, AttrChange{n, before, after})
	}
	c.Summary = verb + strings.Join(todo, ", ")
	return c, nil
}

// applyScript is the apply side of the task (package.sh): install or
// remove, with apt's locks waited for and a failed update made visible.
//
//go:embed package.sh
var applyScript string

// command is the apply script behind a preamble that sets its values as
// quoted shell variables and the package names as its arguments, so that
// no value is pasted into the script's text.
func (p *Package) command(w *PackagePlan) string {
	action, update := "remove", "no"
	if p.present {
		action = "install"
	}
	if w.Update {
		update = "yes"
	}
	return fmt.Sprintf("ACTION=%s UPDATE=%s LOCK=%d FAILED=%s\nset -- %s\n",
		action, update, p.lockWait, hosts.Quote(probe.AptUpdateFailed), quoteAll(w.Names)) + applyScript
}

func (p *Package) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	res, err := h.Run(ctx, p.command(c.Planned.(*PackagePlan)))
	if err != nil {
		return err
	}
	if res.ExitCode == 0 {
		return nil
	}
	if err := p.lockError(res.Stderr); err != nil {
		return err
	}
	if res.ExitCode == 100 {
		return fmt.Errorf("apt-get update failed, so nothing was installed:\n%s", aptErrors(res.Stderr, res.Stdout))
	}
	if unknown := unknownPackages(res.Stderr); len(unknown) > 0 {
		return fmt.Errorf("apt does not know the package(s) %s (the package lists are fresh; check the name and the apt sources)",
			strings.Join(unknown, ", "))
	}
	verb := "install"
	if !p.present {
		verb = "remove"
	}
	return fmt.Errorf("apt-get %s failed (exit status %d):\n%s", verb, res.ExitCode, aptErrors(res.Stderr, res.Stdout))
}

// lockHeld matches apt's words for a lock another process holds, with the
// holder when apt could find it: "E: Could not get lock PATH. It is held
// by process PID (NAME)", or only "E: Could not get lock PATH - open (11:
// Resource temporarily unavailable)". apt-get install's "Waiting for cache
// lock: Could not get lock ..." lines name the holder while it waits.
var lockHeld = regexp.MustCompile(`Could not get lock (/\S+?)(?:\. It is held by process (\d+)(?: \(([^)\n]*)\))?| - )`)

// lockError says which lock apt gave up on and who held it, if apt failed
// for that: "E: Could not get lock" (update, remove) or "E: Unable to
// acquire the dpkg frontend lock" (install, after its own wait).
func (p *Package) lockError(out []byte) error {
	if !bytes.Contains(out, []byte("\nE: Could not get lock ")) && !bytes.HasPrefix(out, []byte("E: Could not get lock ")) &&
		!bytes.Contains(out, []byte("E: Unable to acquire the dpkg frontend lock")) {
		return nil
	}
	what := "another process holds apt's lock"
	if ms := lockHeld.FindAllSubmatch(out, -1); len(ms) > 0 {
		m := ms[len(ms)-1]
		what = printable(string(m[1])) + " is held by another process"
		if len(m[2]) > 0 {
			what = printable(string(m[1])) + " is held by process " + string(m[2])
			if len(m[3]) > 0 {
				what += " (" + printable(string(m[3])) + ")"
			}
		}
	}
	return fmt.Errorf("apt is busy: %s; hako waited %d s for it (lock_timeout_seconds)", what, p.lockWait)
}

// aptErrors picks apt's own error lines out of its output ("E: ..." and
// the "W: Failed to fetch" of an older apt), without the generic "Some
// index files failed to download", at most 8 lines of at most 300 bytes
// each; apt's output ends otherwise with the last lines of it.
func aptErrors(stderr, stdout []byte) string {
	var lines []string
	seen := map[string]bool{}
	for l := range strings.SplitSeq(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "E: ") && !strings.HasPrefix(l, "W: Failed to fetch ") ||
			strings.Contains(l, "Some index files failed to download") || seen[l] {
			continue
		}
		seen[l] = true
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return printable(tail(stderr, stdout))
	}
	if len(lines) > 8 {
		lines = append(lines[:8], fmt.Sprintf("(%d more)", len(lines)-8))
	}
	for i, l := range lines {
		if len(l) > 300 {
			l = strings.ToValidUTF8(l[:300], "") + "…"
		}
		lines[i] = printable(l)
	}
	return strings.Join(lines, "\n")
}

// printable replaces control characters (other than newlines) in what a
// host printed, so that its output cannot move the terminal's cursor or
// rewrite earlier lines of hako's report.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || (r >= ' ' && r != 0x7f && !(r >= 0x80 && r < 0xa0)) {
			return r
		}
		return '?'
	}, strings.ToValidUTF8(s, "?"))
}

var unableToLocate = regexp.MustCompile(`(?m)^E: Unable to locate package (\S+)`)

func unknownPackages(stderr []byte) []string {
	var out []string
	for _, m := range unableToLocate.FindAllSubmatch(stderr, -1) {
		out = append(out, string(m[1]))
	}
	sort.Strings(out)
	return out
}
