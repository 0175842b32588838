package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
)

// Package installs or removes Debian packages with apt. All names are
// queried with one dpkg-query and installed with one apt-get call.
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

// probe asks dpkg-query about every name; for state present it also runs
// aptProbe, which costs nothing more when all names are installed.
func (p *Package) probe() string {
	// Unknown names only make dpkg-query complain on stderr; the known
	// ones are still listed.
	dpkg := "dpkg-query -W -f='${Package}\\t${db:Status-Status}\\n' -- " + p.quoted
	if !p.present {
		return dpkg
	}
	return strings.NewReplacer("{dpkg}", dpkg, "{names}", p.quoted, "{tab}", "\t").Replace(aptProbe)
}

// aptProbe prints dpkg-query's answer and, only if some names are not
// installed, "@apt NOW STAMP LISTS HAVE" (mtimes, - when missing; HAVE is
// 1 when Packages lists exist) and apt-cache showpkg of those names, whose
// indented lines (reverse depends, file details) nobody needs.
const aptProbe = `out=$({dpkg} 2>/dev/null); printf '%s\n' "$out"
nl='
'
set --
for n in {names}; do case "$nl$out$nl" in *"$nl${n%%:*}{tab}installed$nl"*) ;; *) set -- "$@" "$n" ;; esac; done
[ $# -gt 0 ] || exit 0
m() { stat -c %Y -- "$1" 2>/dev/null || echo -; }
have=0; for f in /var/lib/apt/lists/*_Packages*; do [ -e "$f" ] && have=1; break; done
echo "@apt $(date +%s) $(m /var/lib/apt/periodic/update-success-stamp) $(m /var/lib/apt/lists) $have"
apt-cache showpkg -- "$@" | grep -v '^ ' || true
`

func (p *Package) Probes() []Probe { return []Probe{{ProbeOut, p.probe()}} }

// pkgFacts is what the probe learned.
type pkgFacts struct {
	installed map[string]bool
	lists     *listsAge           // nil when every name was installed
	virtual   map[string][]string // purely virtual names and their providers
}

func parseFacts(out []byte) pkgFacts {
	dpkg, apt, found := bytes.Cut(append([]byte("\n"), out...), []byte("\n@apt "))
	f := pkgFacts{installed: installed(dpkg)}
	if found {
		line, rest, _ := bytes.Cut(apt, []byte("\n"))
		l := parseListsAge(string(line))
		f.lists, f.virtual = &l, virtualNames(rest)
	}
	return f
}

// installed parses dpkg-query's answer into the set of installed packages.
func installed(out []byte) map[string]bool {
	got := map[string]bool{}
	// No line-length limit (as bufio.Scanner's): one long line must not
	// end the reading and leave the packages after it "not installed".
	for l := range bytes.Lines(out) {
		name, status, _ := strings.Cut(strings.TrimRight(string(l), "\r\n"), "\t")
		if status == "installed" {
			got[name] = true
		}
	}
	return got
}

// listsAge holds the mtimes (-1: missing) that date the last apt-get update.
type listsAge struct {
	now, stamp, dir int64
	have            bool // some Packages list exists
}

// parseListsAge reads "NOW STAMP DIR HAVE"; anything odd reads as stale.
func parseListsAge(s string) listsAge {
	f := strings.Fields(s)
	if len(f) != 4 {
		return listsAge{}
	}
	var v [3]int64
	for i := range v {
		if f[i] == "-" && i > 0 {
			v[i] = -1
			continue
		}
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return listsAge{}
		}
		v[i] = n
	}
	return listsAge{now: v[0], stamp: v[1], dir: v[2], have: f[3] == "1"}
}

// fresh judges the lists as Ansible's apt module does: by
// update-success-stamp, else by the lists directory, never by the lists
// themselves, whose mtimes apt sets to the mirror's publication time.
func (l listsAge) fresh(valid int) bool {
	t := l.stamp
	if t < 0 {
		t = l.dir
	}
	return l.have && t >= 0 && l.now-t <= int64(valid)
}

// virtualNames reads apt-cache showpkg: a name without versions that
// other packages provide is purely virtual.
func virtualNames(out []byte) map[string][]string {
	got := map[string][]string{}
	var name, section string
	var versions bool
	var provs []string
	flush := func() {
		if name != "" && !versions && len(provs) > 0 {
			sort.Strings(provs)
			got[name] = slices.Compact(provs)
		}
	}
	for _, line := range strings.Split(string(out), "\n") {
		if n, ok := strings.CutPrefix(line, "Package: "); ok {
			flush()
			name, section, versions, provs = strings.TrimSpace(n), "", false, nil
			continue
		}
		switch h := strings.TrimSpace(line); {
		case h == "Versions:" || h == "Reverse Depends:" || h == "Dependencies:" || h == "Provides:" || h == "Reverse Provides:":
			section = h
		case h == "" || line[0] == ' ':
		case section == "Versions:":
			versions = true
		case section == "Reverse Provides:":
			provs = append(provs, strings.Fields(h)[0])
		}
	}
	flush()
	return got
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

func (p *Package) Check(s *State) (*Change, error) {
	f := parseFacts(s.Output(p.probe()).Stdout)
	todo := p.pending(f.installed)
	c := &Change{Address: p.addr, Summary: strings.Join(p.names, ", ")}
	if len(todo) == 0 {
		return c, nil
	}
	before, after, verb := "absent", "present", "install "
	c.Action = Create
	if !p.present {
		before, after, verb = "present", "absent", "remove "
		c.Action = Delete
	} else if err := virtualError(todo, f.virtual); err != nil {
		return nil, err
	}
	c.Planned = &PackagePlan{Names: todo, Update: p.present && (f.lists == nil || !f.lists.fresh(p.cacheValid))}
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
