package tasks

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/attrs"
	"github.com/zclconf/go-cty/cty"
)

// answered builds a State in which every output probe printed out.
func answered(t *testing.T, task Task, out string) *State {
	t.Helper()
	_, order := Script(task.Probes())
	var lines []string
	for i, p := range order {
		if p.Kind != ProbeOut {
			t.Fatalf("unexpected probe %v", p)
		}
		lines = append(lines, "O "+string(rune('0'+i))+" 0 "+b64(out))
	}
	st, err := ParseAnswers([]byte(strings.Join(lines, "\n")+"\n"), order)
	if err != nil {
		t.Fatal(err)
	}
	return st
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
	st := answered(t, task, "ufw\tinstalled\nppp\tconfig-files\n")
	c, err := task.Check(st)
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != Create || c.Summary != "install ppp, pppoe" || len(c.Attrs) != 2 ||
		c.Attrs[0] != (AttrChange{"ppp", "absent", "present"}) {
		t.Errorf("change %+v", c)
	}
	st = answered(t, task, "ufw\tinstalled\nppp\tinstalled\npppoe\tinstalled\n")
	if c, _ := task.Check(st); c.Changed() {
		t.Errorf("all installed, yet %+v", c)
	}
}

func TestPackageAbsent(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("telnet", "rsh-client"), "state": str("absent")})
	c, _ := task.Check(answered(t, task, "telnet\tinstalled\n"))
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
	out := "zlib1g-dev\tinstalled\n@apt 1000 900 900 1\n" + showpkgVirtual + showpkgReal
	_, err := task.Check(answered(t, task, out))
	if err == nil || err.Error() != "libz-dev is a virtual package (provided by zlib1g-dev): name the real package" {
		t.Errorf("got %v", err)
	}
	// A real package and an unknown one go to apt as before.
	task = decode(t, "package", map[string]cty.Value{"names": names("zlib1g-dev", "mailx", "nosuch")})
	c, err := task.Check(answered(t, task, out))
	if err != nil || c.Summary != "install mailx, nosuch" {
		t.Errorf("%+v %v", c, err)
	}
}

func TestVirtualNames(t *testing.T) {
	awk := "Package: awk\nVersions: \n\nReverse Provides: \nmawk 1.3.4 (= )\ngawk 1:5.2.1-2 (= )\nmawk 1.3.3 (= )\n"
	got := virtualNames([]byte(showpkgVirtual + showpkgReal + awk))
	if len(got) != 2 || strings.Join(got["libz-dev"], ",") != "zlib1g-dev" || strings.Join(got["awk"], ",") != "gawk,mawk" {
		t.Errorf("got %v", got)
	}
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
		if got := parseListsAge(tc.line).fresh(3600); got != tc.want {
			t.Errorf("%q: fresh = %v", tc.line, got)
		}
	}
}

func TestPackageUpdateDecision(t *testing.T) {
	task := decode(t, "package", map[string]cty.Value{"names": names("ufw", "ppp"), "cache_valid_seconds": cty.NumberIntVal(600)})
	for out, want := range map[string]bool{
		"ufw\tinstalled\n@apt 10000 9500 1 1\n": false,
		"ufw\tinstalled\n@apt 10000 9300 1 1\n": true,
		"ufw\tinstalled\n":                      true, // no answer about the lists
	} {
		c, err := task.Check(answered(t, task, out))
		if err != nil {
			t.Fatal(err)
		}
		w := c.Planned.(*PackagePlan)
		if cmd := task.(*Package).command(w); w.Update != want || strings.Contains(cmd, "[ yes = yes ]") != want {
			t.Errorf("%q: %+v", out, w)
		}
	}
}

// The probe runs apt-cache only for names dpkg does not know as
// installed: fake dpkg-query and apt-cache prove it in a local shell.
func TestPackageProbeAsksAptOnlyWhenNeeded(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "apt-cache.log")
	for name, body := range map[string]string{
		"dpkg-query": "printf 'ufw\\tinstalled\\nppp\\tconfig-files\\n'",
		"apt-cache":  "echo \"$@\" >>" + log,
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := func(ns ...string) string {
		t.Helper()
		p := decode(t, "package", map[string]cty.Value{"names": names(ns...)}).(*Package)
		cmd := exec.Command(sh, "-c", p.probe())
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out)
	}
	if out := run("ufw", "ufw:amd64"); strings.Contains(out, "@apt") {
		t.Errorf("all installed, yet:\n%s", out)
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("apt-cache ran although every name is installed")
	}
	out := run("ufw", "ppp", "libz-dev")
	if !strings.Contains(out, "\n@apt ") {
		t.Errorf("no apt facts:\n%s", out)
	}
	if got, _ := os.ReadFile(log); string(got) != "showpkg -- ppp libz-dev\n" {
		t.Errorf("apt-cache %q", got)
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
	c, err := task.Check(answered(t, task, "systemd\ndisabled\ninactive\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != Update || len(c.Attrs) != 2 || c.Attrs[1] != (AttrChange{"state", "inactive", "started"}) {
		t.Errorf("change %+v", c)
	}
	if c, _ := task.Check(answered(t, task, "systemd\nenabled\nactive\n")); c.Changed() {
		t.Errorf("up to date, yet %+v", c)
	}
	_, err = task.Check(answered(t, task, "init\n\n\n"))
	if err == nil || !strings.Contains(err.Error(), "does not run systemd") {
		t.Errorf("without systemd: %v", err)
	}
}

func TestServiceActionNeedsSystemd(t *testing.T) {
	a := &attrs.Attrs{Kind: "handler", Name: "restart_ssh", Items: map[string]attrs.Attr{"service": {Value: str("ssh")}}}
	task := ServiceActionKind.Decode(a)
	if _, err := task.Check(answered(t, task, "init\n\n\n")); err == nil {
		t.Error("a restart on a host without systemd must fail clearly")
	}
	c, err := task.Check(answered(t, task, "systemd\nenabled\nactive\n"))
	if err != nil || c.Action != Run || c.Summary != "systemctl restart ssh" {
		t.Errorf("%+v %v", c, err)
	}
}

func TestServiceStaticUnit(t *testing.T) {
	on := decode(t, "service", map[string]cty.Value{"name": str("systemd-journald"), "enabled": cty.True})
	if c, err := on.Check(answered(t, on, "systemd\nstatic\nactive\n")); err != nil || c.Changed() {
		t.Errorf("a static unit counts as enabled: %+v %v", c, err)
	}
	off := decode(t, "service", map[string]cty.Value{"name": str("systemd-journald"), "enabled": cty.False})
	if _, err := off.Check(answered(t, off, "systemd\nstatic\nactive\n")); err == nil || !strings.Contains(err.Error(), "cannot disable") {
		t.Errorf("disabling a static unit: %v", err)
	}
}

// A long line in dpkg-query's answer does not end the reading.
func TestInstalledReadsPastALongLine(t *testing.T) {
	got := installed([]byte(strings.Repeat("x", 100000) + "\tinstalled\nnginx\tinstalled\n"))
	if !got["nginx"] {
		t.Errorf("installed: %v entries, nginx missing", len(got))
	}
}
