package tasks

import (
	"context"
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
	quoted     string // names, quoted for sh
}

func init() {
	register(Kind{
		Name: "package",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "names", Required: true}, {Name: "state"}, {Name: "cache_valid_seconds"},
		}},
		Decode:     decodePackage,
		NewPlanned: func() any { return new(PackagePlan) },
	})
}

var debName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$`)

func decodePackage(a *attrs.Attrs) Task {
	p := &Package{addr: Address{a.Kind, a.Name}, names: a.Strings("names"), present: true, cacheValid: 3600}
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
func fresh(l probe.ListsAge, valid int) bool {
	t := l.Stamp
	if t < 0 {
		t = l.Dir
	}
	return l.Have && t >= 0 && l.Now-t <= int64(valid)
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

// installScript runs apt-get update first if Check found the lists stale
// ({update} is yes), installs, and if apt does not know a name with lists it
// did not just fetch, refreshes once and tries again. After each update
// it touches update-success-stamp, as apt's daily job does, since apt
// leaves no other trace of when it last updated.
const installScript = `export DEBIAN_FRONTEND=noninteractive LC_ALL=C # apt's errors are parsed
apt="apt-get -q -y -o DPkg::Lock::Timeout=120"
update() {
  $apt update >&2 || exit 100
  mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp
  updated=yes
}
updated=no
[ {update} = yes ] && update
out=$($apt install --no-install-recommends -- {names} 2>&1) && exit 0
if [ $updated = no ] && printf '%s' "$out" | grep -q 'Unable to locate package'; then
  update
  out=$($apt install --no-install-recommends -- {names} 2>&1) && exit 0
fi
printf '%s\n' "$out" >&2
exit 1
`

func (p *Package) command(w *PackagePlan) string {
	q := quoteAll(w.Names)
	if !p.present {
		return "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=120 remove -- " + q
	}
	update := "no"
	if w.Update {
		update = "yes"
	}
	return strings.NewReplacer("{update}", update, "{names}", q).Replace(installScript)
}

func (p *Package) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	res, err := h.Run(ctx, p.command(c.Planned.(*PackagePlan)))
	if err != nil {
		return err
	}
	switch {
	case res.ExitCode == 0:
		return nil
	case res.ExitCode == 100:
		return fmt.Errorf("apt-get update failed: %s", tail(res.Stderr, res.Stdout))
	}
	if unknown := unknownPackages(res.Stderr); len(unknown) > 0 {
		return fmt.Errorf("apt does not know the package(s) %s (the package lists are fresh; check the name and the apt sources)",
			strings.Join(unknown, ", "))
	}
	return fmt.Errorf("apt-get failed (exit status %d): %s", res.ExitCode, tail(res.Stderr, res.Stdout))
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
