package tasks

import (
	"os/exec"
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
	out := pkgs(t, "zlib1g-dev\tinstalled\n", "1000 900 900 1 -", showpkgVirtual+showpkgReal)
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
		{"10000 9000 1000 1 -", true},  // stamp an hour old counts, the older directory not
		{"10000 1000 9999 1 -", false}, // stale stamp, though the directory changed
		{"10000 - 6400 1 -", true},     // no stamp: the directory
		{"10000 - 6399 1 -", false},
		{"10000 9999 9999 0 -", false}, // no Packages lists
		{"10000 - - 1 -", false},
		// A failed update of hako's since: the directory it moved does
		// not count, a stamp of a later success does.
		{"10000 - 9990 1 9991", false},
		{"10000 - 9991 1 9991", false},
		{"10000 9000 9990 1 9500", false},
		{"10000 9600 9990 1 9500", true},
		{"garbage", false},
	} {
		l := pkgs(t, "", tc.line, "").Lists
		if got := fresh(*l, 3600); got != tc.want {
			t.Errorf("%q: fresh = %v", tc.line, got)
		}
	}
	// cache_valid_seconds = 0: updated this very second, still stale.
	if l := pkgs(t, "", "10000 10000 10000 1 -", "").Lists; fresh(*l, 0) || !fresh(*l, 1) {
		t.Errorf("lists of this second: fresh(0) = %v, fresh(1) = %v; want false, true", fresh(*l, 0), fresh(*l, 1))
	}
}

func TestPackageUpdateDecision(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("ufw", "ppp"), "cache_valid_seconds": cty.NumberIntVal(600)})
	for _, tc := range []struct {
		out  probe.PackagesInfo
		want bool
	}{
		{pkgs(t, "ufw\tinstalled\n", "10000 9500 1 1 -", ""), false},
		{pkgs(t, "ufw\tinstalled\n", "10000 9300 1 1 -", ""), true},
		{pkgs(t, "ufw\tinstalled\n"), true}, // no answer about the lists
	} {
		out, want := tc.out, tc.want
		c, err := task.Check(answered(t, task, out), Env{})
		if err != nil {
			t.Fatal(err)
		}
		w := c.Planned.(*PackagePlan)
		if cmd := task.(*Package).command(w); w.Update != want || strings.Contains(cmd, "UPDATE=yes") != want {
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

// apt-get update with a source it cannot reach (apt 2.6, Error-Mode=any).
const updateFetchFailed = `Get:1 file:/srv/hako-apt ./ InRelease
Ign:2 http://127.0.0.1:9/debian ./ InRelease
Err:2 http://127.0.0.1:9/debian ./ InRelease
  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
Reading package lists...
W: Target Packages (Packages) is configured multiple times in /etc/apt/sources.list:1 and /etc/apt/sources.list.d/dup.list:1
E: Failed to fetch http://127.0.0.1:9/debian/./InRelease  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
E: Some index files failed to download. They have been ignored, or old ones used instead.
`

func TestAptErrors(t *testing.T) {
	want := "E: Failed to fetch http://127.0.0.1:9/debian/./InRelease  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)"
	if got := aptErrors([]byte(updateFetchFailed), nil); got != want {
		t.Errorf("got %q", got)
	}
	// An older apt only warns; a hostile mirror's text cannot drive the terminal.
	old := "W: Failed to fetch http://x/InRelease  \x1b[2J404\r\nW: Some index files failed to download.\n"
	if got := aptErrors([]byte(old), nil); got != "W: Failed to fetch http://x/InRelease  ?[2J404" {
		t.Errorf("got %q", got)
	}
	// No E: lines: the end of the output.
	if got := aptErrors([]byte("dpkg: error processing\nsub-process returned 1\n"), nil); got != "dpkg: error processing\nsub-process returned 1" {
		t.Errorf("got %q", got)
	}
	var many strings.Builder
	for i := range 12 {
		many.WriteString("E: error " + strings.Repeat("x", 400) + string(rune('a'+i)) + "\n")
	}
	lines := strings.Split(aptErrors([]byte(many.String()), nil), "\n")
	if len(lines) != 9 || lines[8] != "(4 more)" || len(lines[0]) != 300+len("…") {
		t.Errorf("%d lines, last %q, first %d bytes", len(lines), lines[len(lines)-1], len(lines[0]))
	}
}

func TestAptLockError(t *testing.T) {
	p := &Package{lockWait: 120}
	for out, want := range map[string]string{
		// apt-get update, which does not wait
		"Reading package lists...\nE: Could not get lock /var/lib/apt/lists/lock. It is held by process 145 (unattended-upgr)\nE: Unable to lock directory /var/lib/apt/lists/\n": "apt is busy: /var/lib/apt/lists/lock is held by process 145 (unattended-upgr); hako waited 120 s for it (lock_timeout_seconds)",
		// apt-get install after DPkg::Lock::Timeout
		"Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 145 (unattended-upgr)...\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n": "apt is busy: /var/lib/dpkg/lock-frontend is held by process 145 (unattended-upgr); hako waited 120 s for it (lock_timeout_seconds)",
		// a holder apt could not name
		"E: Could not get lock /var/lib/dpkg/lock - open (11: Resource temporarily unavailable)\n":                  "apt is busy: /var/lib/dpkg/lock is held by another process; hako waited 120 s for it (lock_timeout_seconds)",
		"E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n": "apt is busy: another process holds apt's lock; hako waited 120 s for it (lock_timeout_seconds)",
	} {
		if err := p.lockError([]byte(out)); err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", out, err, want)
		}
	}
	if err := p.lockError([]byte(updateFetchFailed)); err != nil {
		t.Errorf("a fetch failure as a lock: %v", err)
	}
	// The wait that ended well leaves its lines in the output of a failure for another reason.
	if err := p.lockError([]byte("Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1 (x)...\nE: Unable to locate package nosuch\n")); err != nil {
		t.Errorf("a wait that ended as a lock error: %v", err)
	}
}

// The apply script is sh, and its preamble hands it the values exactly,
// a name with shell syntax in it included (package.sh reads them; the
// real-host tests in e2e run it against apt).
func TestPackageScripts(t *testing.T) {
	for _, tc := range []struct {
		attrs map[string]cty.Value
		plan  PackagePlan
		want  string
	}{
		{map[string]cty.Value{"names": names("ppp")}, PackagePlan{Names: []string{"ppp", "a'b $(x)"}, Update: true},
			"install|yes|120|/var/lib/hako/apt-update-failed|ppp|a'b $(x)|"},
		{map[string]cty.Value{"names": names("ppp"), "state": str("absent"), "lock_timeout_seconds": cty.NumberIntVal(5)},
			PackagePlan{Names: []string{"ppp"}}, "remove|no|5|/var/lib/hako/apt-update-failed|ppp|"},
	} {
		task := decode(t, "package", tc.attrs)
		cmd := task.(*Package).command(&tc.plan)
		preamble, ok := strings.CutSuffix(cmd, applyScript)
		if !ok {
			t.Fatalf("the script is not the preamble and package.sh:\n%s", cmd)
		}
		out, err := exec.Command("sh", "-c", preamble+`printf '%s|' "$ACTION" "$UPDATE" "$LOCK" "$FAILED" "$@"`).CombinedOutput()
		if err != nil || string(out) != tc.want {
			t.Errorf("preamble gives %q (%v), want %q:\n%s", out, err, tc.want, preamble)
		}
		if out, err := exec.Command("sh", "-n", "-c", cmd).CombinedOutput(); err != nil {
			t.Errorf("sh -n: %v: %s\n%s", err, out, cmd)
		}
	}
}

func TestPackageLockTimeoutNegative(t *testing.T) {
	a := &attrs.Attrs{Kind: "package", Name: "p", Items: map[string]attrs.Attr{
		"names": {Value: names("ppp")}, "lock_timeout_seconds": {Value: cty.NumberIntVal(-1)}}}
	k, _ := LookupKind("package")
	k.Decode(a)
	if !a.Diags.HasErrors() || !strings.Contains(a.Diags.Error(), "lock_timeout_seconds must be a whole number from 0, got -1") {
		t.Errorf("diags %v", a.Diags)
	}
}
