package probe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// single asks a request with the probe.sh function that answers one
// request at a time, as a batch falls back to for odd names.
type single struct {
	Request
	name string
}

func (s single) Call() (Func, []string) {
	_, args := s.Request.Call()
	return Func{Name: s.name}, args
}

func singleOf(r Request) single {
	switch r.(type) {
	case Stat:
		return single{r, "hako_stat"}
	case File:
		return single{r, "hako_file"}
	case Leftovers:
		return single{r, "hako_leftovers"}
	}
	panic(fmt.Sprintf("no single function for %T", r))
}

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// The batched stat, read and leftover probes answer every request as the
// functions for one request do: missing paths among present ones, names
// with a newline, a tab or a backslash, links, folders of root's and of
// another user's (read as that user), files larger than MaxRead.
func TestBatchAnswersAsSingle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown, setpriv)")
	}
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} { // so that uid 4321 can get in
		must(t, os.Chmod(d, 0o755))
	}
	var reqs []Request
	add := func(p, content string, mode os.FileMode, uid int) {
		must(t, os.WriteFile(p, []byte(content), mode))
		must(t, os.Chown(p, uid, uid))
	}
	user := filepath.Join(base, "user")
	must(t, os.Mkdir(user, 0o755))
	must(t, os.Chown(user, 4321, 4321))
	root := filepath.Join(base, "root")
	must(t, os.Mkdir(root, 0o755))
	for i, d := range []string{root, user, filepath.Join(base, "nl\ndir"), filepath.Join(base, `back\slash`)} {
		if i > 1 {
			must(t, os.Mkdir(d, 0o755))
		}
		add(filepath.Join(d, "secret"), "root only\n", 0o600, 0)
		add(filepath.Join(d, "hers"), "hers\n", 0o600, 4321)
		add(filepath.Join(d, "open"), "anyone\n", 0o644, 0)
		add(filepath.Join(d, "tab\tname"), "tab\n", 0o644, 0)
		add(filepath.Join(d, "nl\nname"), "nl\n", 0o644, 0)
		add(filepath.Join(d, `b\s`), "bs\n", 0o644, 0)
		add(filepath.Join(d, "cr\rname"), "cr\n", 0o644, 0)
		add(filepath.Join(d, "big"), strings.Repeat("x", MaxRead+1), 0o644, 0)
		must(t, os.WriteFile(filepath.Join(d, ".open.hako-0123456789ab"), nil, 0o600))
		must(t, os.Symlink(filepath.Join(d, "secret"), filepath.Join(d, "link")))
		for _, n := range []string{"secret", "hers", "open", "tab\tname", "nl\nname", `b\s`, "cr\rname", "big", "link", "none"} {
			p := filepath.Join(d, n)
			reqs = append(reqs, Stat{Path: p}, File{Path: p}, File{Path: p, Expect: hexSum("anyone\n")},
				File{Path: p, Expect: hexSum("other\n")})
		}
		reqs = append(reqs, Leftovers{Dir: d}, Leftovers{Dir: filepath.Join(d, "none")})
	}
	// Reversed, so that the script must put each folder's files together.
	for i, j := 0, len(reqs)-1; i < j; i, j = i+1, j-1 {
		reqs[i], reqs[j] = reqs[j], reqs[i]
	}
	var singles []Request
	for _, r := range reqs {
		singles = append(singles, singleOf(r))
	}
	batched, err := Gather(t.Context(), local(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	one, err := Gather(t.Context(), local(), singles)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		got, want := batched.m[key(r)], one.m[key(singleOf(r))]
		if f, ok := r.(File); ok {
			want = want.(Content).Expecting(f.Expect)
			if f.Expect == "" && got.(Content).Readable {
				// The single read sends no hash with the content.
				want = Content{Readable: true, Data: want.(Content).Data, SHA256: got.(Content).SHA256}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: batched %.200v, alone %.200v", r.Describe(), got, want)
		}
	}
	// What the rules say, whichever function answered.
	if c := batched.Content(filepath.Join(user, "secret")); c.Readable || c.SHA256 != "" {
		t.Errorf("root's file in her folder read: %+v", c)
	}
	if c := batched.Content(filepath.Join(user, "hers")); !c.Readable || string(c.Data) != "hers\n" {
		t.Errorf("her file: %+v", c)
	}
	if c := batched.Content(filepath.Join(root, "secret")); !c.Readable || string(c.Data) != "root only\n" {
		t.Errorf("root's file in root's folder: %+v", c)
	}
	if c := Answer[Content](batched, File{Path: filepath.Join(root, "open"), Expect: hexSum("anyone\n")}); c.Readable || c.SHA256 != hexSum("anyone\n") {
		t.Errorf("a file as expected came back: %+v", c)
	}
	if lo := batched.Leftovers(root); !lo.RootOnly || len(lo.Names) != 1 {
		t.Errorf("root's folder: %+v", lo)
	}
	if lo := batched.Leftovers(user); lo.RootOnly || len(lo.Names) != 1 {
		t.Errorf("her folder: %+v", lo)
	}
}

// countExecs puts wrappers of the commands the file probes start first
// in PATH; each logs its name to the returned file, then runs the real
// command.
func countExecs(t *testing.T) string {
	t.Helper()
	bin, log := t.TempDir(), filepath.Join(t.TempDir(), "execs")
	for _, c := range []string{"stat", "namei", "sha256sum", "base64", "setpriv", "xargs", "id", "cat"} {
		real, err := exec.LookPath(c)
		if err != nil {
			t.Skipf("no %s here", c)
		}
		must(t, os.WriteFile(filepath.Join(bin, c), []byte("#!/bin/sh\necho "+c+" >>"+log+"\nexec "+real+` "$@"`+"\n"), 0o755))
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	return log
}

// execs reads and empties the log of countExecs: how many times each
// command ran.
func execs(t *testing.T, log string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	must(t, os.WriteFile(log, nil, 0o644))
	n := map[string]int{}
	for _, c := range strings.Fields(string(b)) {
		n[c]++
	}
	return n
}

// A file task's probes (stat, read with the planned hash, leftovers) of
// 5 or 60 files in as many folders start the same commands the same
// number of times when every file is as planned; a file that differs adds
// only its own read.
func TestFileProbesStartConstantProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (the reads of root, as on hosts)")
	}
	log := countExecs(t)
	probes := func(n, differ int) []Request {
		base := t.TempDir()
		var reqs []Request
		for i := range n {
			d := filepath.Join(base, fmt.Sprint("d", i))
			must(t, os.Mkdir(d, 0o755))
			p := filepath.Join(d, "f.conf")
			must(t, os.WriteFile(p, []byte(fmt.Sprintln("setting", i)), 0o644))
			want := fmt.Sprintln("setting", i)
			if i < differ {
				want = "changed\n"
			}
			reqs = append(reqs, Stat{Path: p}, File{Path: p, Expect: hexSum(want)}, Leftovers{Dir: d})
		}
		return reqs
	}
	count := func(n, differ int) map[string]int {
		if _, err := Gather(t.Context(), local(), probes(n, differ)); err != nil {
			t.Fatal(err)
		}
		return execs(t, log)
	}
	small, large := count(5, 0), count(60, 0)
	if !reflect.DeepEqual(small, large) {
		t.Errorf("processes grow with the plan: 5 files %v, 60 files %v", small, large)
	}
	// One namei for the folders, which the reads and the leftovers both
	// ask; xargs only for it (rootpath's routes): stat and sha256sum are
	// started by the command substitution itself.
	if small["base64"] != 0 || small["sha256sum"] != 1 || small["namei"] != 1 || small["stat"] != 1 || small["xargs"] != 1 {
		t.Errorf("5 files as planned: %v", small)
	}
	// A file that differs is read whole: one base64 each, and one stat
	// more for the sizes of all of them.
	for _, differ := range []int{2, 6} {
		if got := count(60, differ); got["base64"] != differ || got["sha256sum"] != 1 || got["stat"] != 2 {
			t.Errorf("%d of 60 files differ: %v", differ, got)
		}
	}
}

// A list of paths longer than one command line takes (64 KiB and more)
// goes through xargs, and is answered as a short one: every file, those
// missing among them.
func TestBatchPastOneCommandLine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (the reads of root, as on hosts)")
	}
	base := t.TempDir()
	var reqs []Request
	long := strings.Repeat("n", 200)
	for i := range 400 {
		p := filepath.Join(base, fmt.Sprintf("%s%03d", long, i))
		if i%7 != 3 {
			must(t, os.WriteFile(p, []byte(fmt.Sprintln(i)), 0o644))
		}
		reqs = append(reqs, Stat{Path: p}, File{Path: p, Expect: hexSum("0\n")})
	}
	a, err := Gather(t.Context(), local(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		p := filepath.Join(base, fmt.Sprintf("%s%03d", long, i))
		fi, c := a.Stat(p), Answer[Content](a, File{Path: p, Expect: hexSum("0\n")})
		if i%7 == 3 {
			if fi.Exists || c.Readable || c.SHA256 != "" {
				t.Errorf("%d: missing, answered %+v %+v", i, fi, c)
			}
			continue
		}
		if !fi.Exists || fi.Size != int64(len(fmt.Sprintln(i))) || c.SHA256 != hexSum(fmt.Sprintln(i)) || i != 0 && string(c.Data) != fmt.Sprintln(i) {
			t.Errorf("%d: %+v %+v", i, fi, c)
		}
	}
}
