package sdcard

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func report(r *Result, source string) string {
	var b strings.Builder
	r.Report(&b, source)
	return b.String()
}

// A bookworm-style card gets ssh, userconf.txt, firstrun.sh and the
// cmdline.txt arguments; a second run changes nothing, keeps the password.
func TestBookwormCard(t *testing.T) {
	dir := bootCopy(t, "bookworm")
	key := testKey(t)
	res, err := Prepare(dir, "alice", key, fixedRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Generation != FirstRun {
		t.Fatalf("generation %v", res.Generation)
	}
	for _, f := range []string{"ssh", "userconf.txt", "firstrun.sh", "cmdline.txt"} {
		golden(t, "bookworm/"+f, mask(readFile(t, filepath.Join(dir, f)), dir, key))
	}
	golden(t, "bookworm/report.txt", mask(report(res, `host "pi"`), dir, key))
	if st, _ := os.Stat(filepath.Join(dir, "firstrun.sh")); st.Mode().Perm()&0o100 == 0 {
		t.Errorf("firstrun.sh mode %v, want executable", st.Mode())
	}
	uc := readFile(t, filepath.Join(dir, "userconf.txt"))
	if !regexp.MustCompile(`^alice:\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}\n$`).MatchString(uc) {
		t.Errorf("userconf.txt = %q", uc)
	}

	before := snapshot(t, dir)
	res, err = Prepare(dir, "alice", key, fixedRand(2)) // other random bytes: still the same password
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, before, snapshot(t, dir))
	want := map[string]Outcome{"ssh": Kept, "userconf.txt": Kept, "firstrun.sh": Unchanged, "cmdline.txt": Unchanged}
	if got := actions(res); !equalMaps(got, want) {
		t.Errorf("second run: %v, want %v", got, want)
	}
	golden(t, "bookworm/report-again.txt", mask(report(res, `host "pi"`), dir, key))
	if n := strings.Count(readFile(t, filepath.Join(dir, "cmdline.txt")), "systemd.run="); n != 1 {
		t.Errorf("cmdline.txt has systemd.run= %d times", n)
	}
}

func equalMaps(a, b map[string]Outcome) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A cloud-init card gets user-data only: its own meta-data and
// network-config stay as they are, and nothing of the bookworm kind.
func TestCloudInitCard(t *testing.T) {
	dir := bootCopy(t, "trixie")
	before := snapshot(t, dir)
	key := testKey(t)
	res, err := Prepare(dir, "alice", key, fixedRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Generation != CloudInit {
		t.Fatalf("generation %v", res.Generation)
	}
	golden(t, "trixie/user-data", mask(readFile(t, filepath.Join(dir, "user-data")), dir, key))
	golden(t, "trixie/report.txt", mask(report(res, `host "pi", bootstrap block`), dir, key))
	after := snapshot(t, dir)
	delete(before, "user-data")
	delete(after, "user-data")
	sameTree(t, before, after) // meta-data, network-config, cmdline.txt untouched; no ssh, userconf.txt, firstrun.sh

	before = snapshot(t, dir)
	res, err = Prepare(dir, "alice", key, fixedRand(2))
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, before, snapshot(t, dir))
	if got, want := actions(res), map[string]Outcome{"user-data": Unchanged, "meta-data": Kept, "network-config": Kept}; !equalMaps(got, want) {
		t.Errorf("second run: %v, want %v", got, want)
	}

	// Another user: user-data is ours, so it is rewritten.
	res, err = Prepare(dir, "bob", key, fixedRand(3))
	if err != nil {
		t.Fatal(err)
	}
	if actions(res)["user-data"] != Updated || !strings.Contains(readFile(t, filepath.Join(dir, "user-data")), "name: bob\n") {
		t.Errorf("user-data for bob: %v\n%s", actions(res), readFile(t, filepath.Join(dir, "user-data")))
	}
}

// A cloud-init card whose meta-data is gone gets one, with an instance-id
// that follows user-data.
func TestCloudInitWithoutMetaData(t *testing.T) {
	dir := bootCopy(t, "trixie")
	if err := os.Remove(filepath.Join(dir, "meta-data")); err != nil {
		t.Fatal(err)
	}
	key := testKey(t)
	res, err := Prepare(dir, "alice", key, fixedRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(res)["meta-data"]; got != Created {
		t.Errorf("meta-data %v", got)
	}
	golden(t, "trixie/meta-data", readFile(t, filepath.Join(dir, "meta-data")))
	if _, err := Prepare(dir, "bob", key, fixedRand(1)); err != nil {
		t.Fatal(err)
	}
	// meta-data is there now: kept, even though user-data changed.
	if got := readFile(t, filepath.Join(dir, "meta-data")); got != string(metaData(userData("alice", key))) {
		t.Errorf("meta-data rewritten:\n%s", got)
	}
}

// Only the seed files tell a cloud-init card; any one of them is enough.
func TestDetectByAnySeedFile(t *testing.T) {
	for _, seed := range cloudInitSeeds {
		dir := bootCopy(t, "bookworm")
		if err := os.WriteFile(filepath.Join(dir, seed), []byte("# empty\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := Prepare(dir, "alice", testKey(t), fixedRand(1))
		if err != nil {
			t.Fatal(err)
		}
		if res.Generation != CloudInit {
			t.Errorf("with %s: %v", seed, res.Generation)
		}
	}
}

// userconf.txt for another user is replaced (the plan's user is the one
// hako logs in as); a userconf file is the one edited when it exists,
// since userconf-pi reads it before userconf.txt.
func TestUserconfOfAnotherUser(t *testing.T) {
	dir := bootCopy(t, "bookworm")
	if err := os.WriteFile(filepath.Join(dir, "userconf"), []byte("bob:$6$abc$def\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Prepare(dir, "alice", testKey(t), fixedRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(res)["userconf"]; got != Updated {
		t.Errorf("userconf: %v (actions %v)", got, actions(res))
	}
	if _, err := os.Stat(filepath.Join(dir, "userconf.txt")); err == nil {
		t.Error("userconf.txt written beside userconf")
	}
	if !strings.HasPrefix(readFile(t, filepath.Join(dir, "userconf")), "alice:$6$") {
		t.Errorf("userconf = %q", readFile(t, filepath.Join(dir, "userconf")))
	}
	if r := report(res, ""); !strings.Contains(r, "it was for user bob") {
		t.Errorf("report does not say whose it was:\n%s", r)
	}

	// The same user with a password of their own: kept.
	dir = bootCopy(t, "bookworm")
	own := "alice:$y$j9T$abcdefgh$ijklmnop\n"
	if err := os.WriteFile(filepath.Join(dir, "userconf.txt"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(dir, "alice", testKey(t), fixedRand(1)); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "userconf.txt")); got != own {
		t.Errorf("userconf.txt = %q, want it kept", got)
	}
}

// Every refusal says what is wrong and leaves the directory as it was.
func TestRefusals(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("untouched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		boot  string // testdata tree, "" for an empty directory
		setup func(t *testing.T, dir string)
		user  string
		want  []string
	}{
		{name: "empty directory", want: []string{"does not look like the boot partition", "no config.txt", "no cmdline.txt",
			"start*.elf, bcm27*.dtb, kernel*.img", "bootfs"}},
		{name: "no firmware", setup: func(t *testing.T, dir string) {
			write(t, dir, "config.txt", "")
			write(t, dir, "cmdline.txt", "root=/dev/mmcblk0p2\n")
		}, want: []string{"no firmware, device tree or kernel files"}},
		{name: "root file system's /boot", boot: "rootfs-boot", want: []string{"DO NOT EDIT THIS FILE", "/boot/firmware"}},
		{name: "foreign firstrun.sh", boot: "bookworm", setup: func(t *testing.T, dir string) {
			write(t, dir, "firstrun.sh", "#!/bin/bash\nset +e\n")
		}, want: []string{"firstrun.sh was not written by hako", "Imager"}},
		{name: "another systemd.run", boot: "bookworm", setup: func(t *testing.T, dir string) {
			write(t, dir, "cmdline.txt", "root=/dev/mmcblk0p2 rootwait systemd.run=/boot/other.sh\n")
		}, want: []string{"cmdline.txt: already has systemd.run=/boot/other.sh"}},
		{name: "cmdline.txt on two lines", boot: "bookworm", setup: func(t *testing.T, dir string) {
			write(t, dir, "cmdline.txt", "root=/dev/mmcblk0p2\nrootwait\n")
		}, want: []string{"more than one line"}},
		{name: "user-data with settings", boot: "trixie", setup: func(t *testing.T, dir string) {
			write(t, dir, "user-data", "#cloud-config\nhostname: mine\n")
		}, want: []string{"user-data already has settings of its own", `"hostname: mine"`}},
		{name: "symbolic link out of the partition", boot: "bookworm", setup: func(t *testing.T, dir string) {
			if err := os.Symlink(victim, filepath.Join(dir, "userconf.txt")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"userconf.txt is not a regular file"}},
		{name: "bad user name", boot: "bookworm", user: "Alice", want: []string{`"Alice"`, "lower-case"}},
		{name: "root", boot: "bookworm", user: "root", want: []string{"not be root"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.boot != "" {
				dir = bootCopy(t, c.boot)
			}
			if c.setup != nil {
				c.setup(t, dir)
			}
			user := c.user
			if user == "" {
				user = "alice"
			}
			before := snapshot(t, dir)
			_, err := Prepare(dir, user, testKey(t), fixedRand(1))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			sameTree(t, before, snapshot(t, dir))
		})
	}
	if got := readFile(t, victim); got != "untouched\n" {
		t.Errorf("a file outside the boot partition was written: %q", got)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	write(t, filepath.Dir(f), "file", "")
	if _, err := Prepare(f, "alice", testKey(t), fixedRand(1)); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("err = %v", err)
	}
	if _, err := Prepare(filepath.Join(t.TempDir(), "nope"), "alice", testKey(t), fixedRand(1)); err == nil {
		t.Error("no error for a missing directory")
	}
}

// cmdline.txt stays one line, keeps its other arguments in order, its
// line ending, and gets the arguments exactly once.
func TestWithFirstRun(t *testing.T) {
	args := strings.Join(firstRunArgs, " ")
	cases := []struct{ in, want string }{
		{"root=X rootwait\n", "root=X rootwait " + args + "\n"},
		{"root=X rootwait", "root=X rootwait " + args},
		{"root=X rootwait\r\n", "root=X rootwait " + args + "\r\n"},
		{"root=X  rootwait   quiet\n", "root=X rootwait quiet " + args + "\n"},
		{"root=X " + args + "\n", "root=X " + args + "\n"},
		{"root=X   " + args + "\n", "root=X   " + args + "\n"}, // already right: byte for byte
		{"root=X " + firstRunArgs[0] + " quiet\n", "root=X quiet " + args + "\n"},
		{"root=X " + args + " " + args + "\n", "root=X " + args + "\n"},
		{"root=X rootwait\n\n", "root=X rootwait " + args + "\n"},
	}
	for _, c := range cases {
		got, err := withFirstRun([]byte(c.in))
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
		again, err := withFirstRun(got)
		if err != nil || string(again) != string(got) {
			t.Errorf("%q: second edit %q, %v", c.in, again, err)
		}
	}
	for _, bad := range []string{"", "\n", "root=X\nquiet\n", "root=X systemd.unit=rescue.target\n"} {
		if _, err := withFirstRun([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The script is valid sh, and survives the image's imager_fixup, which
// cuts a firstrun.sh at its first line matching `rm.*firstrun\.sh$`.
func TestFirstRunScript(t *testing.T) {
	key := testKey(t)
	script, err := firstRunScript("alice", key)
	if err != nil {
		t.Fatal(err)
	}
	cut := regexp.MustCompile(`rm.*firstrun\.sh$`)
	for i, l := range strings.Split(string(script), "\n") {
		if cut.MatchString(l) {
			t.Errorf("line %d %q would be cut by imager_fixup", i+1, l)
		}
	}
	if !isOurs(script) || !isOurs(userData("alice", key)) {
		t.Error("the marker is not on the second line")
	}
	for _, shell := range []string{"dash", "sh", "bash"} {
		path, err := exec.LookPath(shell)
		if err != nil {
			continue
		}
		f := filepath.Join(t.TempDir(), "firstrun.sh")
		write(t, filepath.Dir(f), "firstrun.sh", string(script))
		if out, err := exec.Command(path, "-n", f).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
}
