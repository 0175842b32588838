package tasks

import (
	"strings"
	"testing"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/probe"
	"github.com/zclconf/go-cty/cty"
)

// answered builds a State in which every probe of task has the answer a.
func answered(t *testing.T, task Task, a any) *State {
	t.Helper()
	f := probe.NewFake()
	for _, p := range task.Probes() {
		f.Set(p, a)
	}
	ans, err := f.Answer(task.Probes())
	if err != nil {
		t.Fatal(err)
	}
	return NewState(ans)
}

// pkgs is the answer of the package probe: dpkg-query's output and, when
// some names are not installed, the lists' times ("NOW STAMP DIR HAVE")
// and apt-cache showpkg's output, decoded as the probe decodes them.
func pkgs(t *testing.T, dpkg string, apt ...string) probe.PackagesInfo {
	t.Helper()
	recs := []probe.Record{{Field: "dpkg", Value: []byte(dpkg)}}
	if len(apt) == 2 {
		recs = append(recs, probe.Record{Field: "lists", Value: []byte(apt[0])}, probe.Record{Field: "showpkg", Value: []byte(apt[1])})
	}
	a, err := probe.Packages{}.Decode(recs)
	if err != nil {
		t.Fatal(err)
	}
	return a.(probe.PackagesInfo)
}

// unit is the answer of the unit probe.
func unit(init, enabled, active string) probe.UnitInfo {
	return probe.UnitInfo{Init: init, Enabled: enabled, Active: active}
}

func names(ns ...string) cty.Value {
	var vs []cty.Value
	for _, n := range ns {
		vs = append(vs, str(n))
	}
	return cty.ListVal(vs)
}

func TestPackageCheck(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("ufw", "ppp", "pppoe")})
	st := answered(t, task, pkgs(t, "ufw\tinstalled\nppp\tconfig-files\n"))
	c, err := task.Check(st, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != Create || c.Summary != "install ppp, pppoe" || len(c.Attrs) != 2 ||
		c.Attrs[0] != (AttrChange{"ppp", "absent", "present"}) {
		t.Errorf("change %+v", c)
	}
	st = answered(t, task, pkgs(t, "ufw\tinstalled\nppp\tinstalled\npppoe\tinstalled\n"))
	if c, _ := task.Check(st, Env{}); c.Changed() {
		t.Errorf("all installed, yet %+v", c)
	}
}

func TestPackageAbsent(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("telnet", "rsh-client"), "state": str("absent")})
	c, _ := task.Check(answered(t, task, pkgs(t, "telnet\tinstalled\n")), Env{})
	if c.Action != Delete || c.Summary != "remove telnet" {
		t.Errorf("change %+v", c)
	}
}

// showpkgVirtual is apt-cache showpkg (indented lines dropped) for a
// purely virtual name that two versions of one package provide.
const showpkgVirtual = `Package: libz-dev
Versions: 

Reverse Depends: 
Dependencies: 
Provides: 
Reverse Provides: 
zlib1g-dev 1:1.2.13.dfsg-1 (= )
zlib1g-dev 1:1.2.11.dfsg-2 (= )
`

// showpkgReal is a real package that another package provides too.
const showpkgReal = `Package: mailx
Versions: 
1:20081101-2 (/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages)


Reverse Depends: 
Dependencies: 
1:20081101-2 - libc6 (2 2.34) 
Provides: 
1:20081101-2 - 
Reverse Provides: 
bsd-mailx 8.1.2-0.20220412cvs-1 (= )
`

func TestPackageVirtualName(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("zlib1g-dev", "libz-dev", "mailx", "nosuch")})
	out := pkgs(t, "zlib1g-dev\tinstalled\n", "1000 900 900 1", showpkgVirtual+showpkgReal)
	_, err := task.Check(answered(t, task, out), Env{})
	if err == nil || err.Error() != "libz-dev is a virtual package (provided by zlib1g-dev): name the real package" {
		t.Errorf("got %v", err)
	}
	// A real package and an unknown one go to apt as before.
	task = decode(t, "package", map[string]cty.Value{"names": names("zlib1g-dev", "mailx", "nosuch")})
	c, err := task.Check(answered(t, task, out), Env{})
	if err != nil || c.Summary != "install mailx, nosuch" {
		t.Errorf("%+v %v", c, err)
	}
}

func TestVirtualError(t *testing.T) {
	got := map[string][]string{"libz-dev": {"zlib1g-dev"}, "awk": {"gawk", "mawk"}}
	err := virtualError([]string{"awk:amd64", "libz-dev"}, got)
	if err == nil || err.Error() != "awk:amd64 is a virtual package (provided by gawk, mawk); "+
		"libz-dev is a virtual package (provided by zlib1g-dev): name the real package" {
		t.Errorf("got %v", err)
	}
}

// The lists count as fresh by update-success-stamp, else by the lists
// directory; never by the lists' own mtimes, which apt takes from the
// mirror. No lists at all, or an odd answer, means apt-get update.
func TestListsFresh(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"10000 9000 1000 1", true},  // stamp an hour old counts, the older directory not
		{"10000 1000 9999 1", false}, // stale stamp, though the directory changed
		{"10000 - 6400 1", true},     // no stamp: the directory
		{"10000 - 6399 1", false},
		{"10000 9999 9999 0", false}, // no Packages lists
		{"10000 - - 1", false},
		{"garbage", false},
	} {
		l := pkgs(t, "", tc.line, "").Lists
		if got := fresh(*l, 3600); got != tc.want {
			t.Errorf("%q: fresh = %v", tc.line, got)
		}
	}
}

func TestPackageUpdateDecision(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("ufw", "ppp"), "cache_valid_seconds": cty.NumberIntVal(600)})
	for _, tc := range []struct {
		out  probe.PackagesInfo
		want bool
	}{
		{pkgs(t, "ufw\tinstalled\n", "10000 9500 1 1", ""), false},
		{pkgs(t, "ufw\tinstalled\n", "10000 9300 1 1", ""), true},
		{pkgs(t, "ufw\tinstalled\n"), true}, // no answer about the lists
	} {
		out, want := tc.out, tc.want
		c, err := task.Check(answered(t, task, out), Env{})
		if err != nil {
			t.Fatal(err)
		}
		w := c.Planned.(*PackagePlan)
		if cmd := task.(*Package).command(w); w.Update != want || strings.Contains(cmd, "[ yes = yes ]") != want {
			t.Errorf("%+v: %+v", out, w)
		}
	}
}

func TestUnknownPackages(t *testing.T) {
	got := unknownPackages([]byte("Reading package lists...\nE: Unable to locate package nosuch\nE: Unable to locate package other\n"))
	if strings.Join(got, " ") != "nosuch other" {
		t.Errorf("got %v", got)
	}
}

func TestServiceCheck(t *testing.T) {
	task := decode(t, "service", map[string]cty.Value{"name": str("ssh"), "enabled": cty.True, "state": str("started")})
	c, err := task.Check(answered(t, task, unit("systemd", "disabled", "inactive")), Env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != Update || len(c.Attrs) != 2 || c.Attrs[1] != (AttrChange{"state", "inactive", "started"}) {
		t.Errorf("change %+v", c)
	}
	if c, _ := task.Check(answered(t, task, unit("systemd", "enabled", "active")), Env{}); c.Changed() {
		t.Errorf("up to date, yet %+v", c)
	}
	_, err = task.Check(answered(t, task, unit("init", "", "")), Env{})
	if err == nil || !strings.Contains(err.Error(), "does not run systemd") {
		t.Errorf("without systemd: %v", err)
	}
}

func TestServiceActionNeedsSystemd(t *testing.T) {
	a := &attrs.Attrs{Kind: "handler", Name: "restart_ssh", Items: map[string]attrs.Attr{"service": {Value: str("ssh")}}}
	task := ServiceActionKind.Decode(a)
	if _, err := task.Check(answered(t, task, unit("init", "", "")), Env{}); err == nil {
		t.Error("a restart on a host without systemd must fail clearly")
	}
	c, err := task.Check(answered(t, task, unit("systemd", "enabled", "active")), Env{})
	if err != nil || c.Action != Run || c.Summary != "systemctl restart ssh" {
		t.Errorf("%+v %v", c, err)
	}
}

func TestServiceStaticUnit(t *testing.T) {
	on := decode(t, "service", map[string]cty.Value{"name": str("systemd-journald"), "enabled": cty.True})
	if c, err := on.Check(answered(t, on, unit("systemd", "static", "active")), Env{}); err != nil || c.Changed() {
		t.Errorf("a static unit counts as enabled: %+v %v", c, err)
	}
	off := decode(t, "service", map[string]cty.Value{"name": str("systemd-journald"), "enabled": cty.False})
	if _, err := off.Check(answered(t, off, unit("systemd", "static", "active")), Env{}); err == nil || !strings.Contains(err.Error(), "cannot disable") {
		t.Errorf("disabling a static unit: %v", err)
	}
}
