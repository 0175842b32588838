package tasks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
)

// Package installs or removes Debian packages with apt. All names are
// queried with one dpkg-query and installed with one apt-get call.
type Package struct {
	addr       Address
	names      []string
	present    bool
	cacheValid int // seconds the package lists count as fresh
}

func init() {
	register(Kind{
		Name: "package",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "names", Required: true}, {Name: "state"}, {Name: "cache_valid_seconds"},
		}},
		Decode: decodePackage,
	})
}

var debName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$`)

func decodePackage(a *Attrs) Task {
	p := &Package{addr: a.Addr, names: a.Strings("names"), present: true, cacheValid: 3600}
	for _, n := range p.names {
		if !debName.MatchString(n) {
			a.errorf("names", "Invalid package name", "%q is not a Debian package name.", n)
		}
	}
	switch s := a.String("state"); s {
	case "", "present":
	case "absent":
		p.present = false
	default:
		a.errorf("state", "Invalid state", `state must be "present" or "absent", got %q.`, s)
	}
	if a.Has("cache_valid_seconds") {
		if n := a.Int("cache_valid_seconds"); n >= 0 {
			p.cacheValid = n
		}
	}
	return p
}

func (p *Package) Address() Address { return p.addr }

func (p *Package) query() string {
	q := make([]string, len(p.names))
	for i, n := range p.names {
		q[i] = hosts.Quote(n)
	}
	// Unknown names only make dpkg-query complain on stderr; the known
	// ones are still listed.
	return "dpkg-query -W -f='${Package}\\t${db:Status-Status}\\n' -- " + strings.Join(q, " ")
}

func (p *Package) Probes() []Probe { return []Probe{{ProbeOut, p.query()}} }

// installed parses dpkg-query's answer into the set of installed packages.
func installed(out []byte) map[string]bool {
	got := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, status, _ := strings.Cut(sc.Text(), "\t")
		if status == "installed" {
			got[name] = true
		}
	}
	return got
}

// pending lists the names that need work, in plan order.
func (p *Package) pending(s *State) []string {
	got := installed(s.Output(p.query()).Stdout)
	var out []string
	for _, n := range p.names {
		base, _, _ := strings.Cut(n, ":")
		if got[base] != p.present {
			out = append(out, n)
		}
	}
	return out
}

func (p *Package) Check(s *State) (*Change, error) {
	todo := p.pending(s)
	c := &Change{Address: p.addr, Summary: strings.Join(p.names, ", "), detail: todo}
	if len(todo) == 0 {
		return c, nil
	}
	before, after, verb := "absent", "present", "install "
	c.Action = Create
	if !p.present {
		before, after, verb = "present", "absent", "remove "
		c.Action = Delete
	}
	for _, n := range todo {
		c.Attrs = append(c.Attrs, AttrChange{n, before, after})
	}
	c.Summary = verb + strings.Join(todo, ", ")
	return c, nil
}

// installScript refreshes the package lists when they are missing or
// older than cacheValid, installs, and if apt does not know a name with
// lists it did not just fetch, refreshes once and tries again.
const installScript = `export DEBIAN_FRONTEND=noninteractive
apt="apt-get -q -y -o DPkg::Lock::Timeout=120"
newest=0
for f in /var/lib/apt/lists/*_Packages*; do
  [ -e "$f" ] || continue
  m=$(stat -c %%Y -- "$f"); [ "$m" -gt "$newest" ] && newest=$m
done
updated=no
if [ $(( $(date +%%s) - newest )) -gt %d ]; then $apt update >&2 || exit 100; updated=yes; fi
out=$($apt install --no-install-recommends -- %s 2>&1) && exit 0
if [ $updated = no ] && printf '%%s' "$out" | grep -q 'Unable to locate package'; then
  $apt update >&2 || exit 100
  out=$($apt install --no-install-recommends -- %[2]s 2>&1) && exit 0
fi
printf '%%s\n' "$out" >&2
exit 1
`

func (p *Package) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	todo := c.detail.([]string)
	q := make([]string, len(todo))
	for i, n := range todo {
		q[i] = hosts.Quote(n)
	}
	cmd := "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=120 remove -- " + strings.Join(q, " ")
	if p.present {
		cmd = fmt.Sprintf(installScript, p.cacheValid, strings.Join(q, " "))
	}
	res, err := h.Run(ctx, cmd)
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
