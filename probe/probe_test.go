package probe

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
)

// rec is one record line as the shell's rec prints it.
func rec(idx int, field, value string) string {
	return strconv.Itoa(idx) + " " + field + " " + base64.StdEncoding.EncodeToString([]byte(value)) + "\n"
}

func TestScriptAsksEachRequestOnce(t *testing.T) {
	script, order := Script([]Request{Stat{Path: "/a"}, File{Path: "/a"}, Stat{Path: "/a", Sensitive: true},
		Exit{Cmd: "it's"}, Account{Name: "pi"}, Account{Name: "pi"}})
	if len(order) != 4 {
		t.Fatalf("order %v", order)
	}
	if !strings.Contains(script, `hako_exit 2 'it'\''s'`) {
		t.Errorf("command not quoted:\n%s", script)
	}
	// The sensitive one of two identical requests is kept, so that
	// errors hide the path.
	if !order[0].(Stat).Sensitive {
		t.Errorf("order[0] = %+v", order[0])
	}
	if !strings.Contains(script, "hako_max_read=1048576\n") || !strings.HasSuffix(script, "echo "+endMarker+` "$hako_pid0" "$hako_pid1"`+"\n") {
		t.Errorf("script:\n%s", script)
	}
}

// Every request type decodes its records into its answer.
func TestDecodeEveryRequestType(t *testing.T) {
	order := []Request{Stat{Path: "/etc/motd"}, File{Path: "/etc/motd"}, Exit{Cmd: "true"}, Stat{Path: "/nope"},
		Output{Cmd: "ls"}, Leftovers{Dir: "/etc"}, Endpoint{}, Login{}, Account{Name: "alice"}, Unit{Name: "ssh.socket"},
		Packages{Names: []string{"ufw", "ppp"}, Apt: true}, NetDevices{}, Configs{Patterns: "/etc/ssh/*"}, File{Path: "/big"},
		Account{Name: "bob"}}
	out := rec(0, "stat", "regular file\t644\troot\troot\t0\t0\t6") + rec(1, "data", "hello\n") + "2 exit :0\n" +
		rec(3, "stat-missing", "") + rec(4, "exit", "3") + rec(4, "stdout", "a\nb") +
		rec(5, "rootonly", "1") + rec(5, "name", ".motd.hako-0123456789ab") +
		rec(6, "conn", "192.168.0.10 51234 192.168.0.64 50022") + "7 uid :0\n" + "7 name :pi\n" +
		rec(8, "name", "alice") + rec(8, "passwd", "alice:x:1001:1001::/home/alice:/bin/bash") + rec(8, "groups", "alice sudo") +
		rec(8, "primary", "alice") + rec(8, "sshdir", "directory\t700\talice\talice\t1001\t1001\t4096") +
		rec(8, "keyfile", "regular empty file\t600\talice\talice\t1001\t1001\t0") + rec(8, "keys", "") +
		rec(9, "init", "systemd") + rec(9, "enabled", "enabled") + rec(9, "active", "active") + rec(9, "listen", "[::]:22 (Stream)") +
		rec(10, "dpkg", "ufw\tinstalled\nppp\tconfig-files") + rec(10, "lists", "1000 900 - 1 -") +
		rec(10, "showpkg", "Package: ppp\nVersions: \n1.0 (x)\n") +
		rec(11, "nmcli", "1") + rec(11, "device", `eth\:0:connected`) +
		rec(12, "configs", "") + rec(12, "path", "/etc/ssh/sshd_config") + rec(12, "data", "Port 22\n") +
		rec(12, "path", "/etc/ssh/secret") + rec(12, "unreadable", "") +
		rec(13, "sha256", "abc") + rec(14, "name", "bob") + rec(14, "absent", "") + endMarker + "\n"
	a, err := Decode([]byte(out), order)
	if err != nil {
		t.Fatal(err)
	}
	if fi := a.Stat("/etc/motd"); !fi.Exists || fi.Mode != 0o644 || fi.User != "root" || fi.Size != 6 || fi.Type != "regular file" {
		t.Errorf("stat %+v", fi)
	}
	if c := a.Content("/etc/motd"); !c.Readable || string(c.Data) != "hello\n" {
		t.Errorf("content %+v", c)
	}
	if a.Exit("true") != 0 || a.Stat("/nope").Exists {
		t.Error("exit or missing path wrong")
	}
	if o := a.Output("ls"); o.ExitCode != 3 || string(o.Stdout) != "a\nb" {
		t.Errorf("output %+v", o)
	}
	if lo := a.Leftovers("/etc"); !lo.RootOnly || len(lo.Of("/etc/motd")) != 1 {
		t.Errorf("leftovers %+v", lo)
	}
	if e := Answer[hosts.Endpoint](a, Endpoint{}); e.ClientAddr != "192.168.0.10" || e.ServerAddr != "192.168.0.64" || e.ServerPort != 50022 {
		t.Errorf("endpoint %+v", e)
	}
	if l := Answer[LoginInfo](a, Login{}); l != (LoginInfo{0, "pi"}) {
		t.Errorf("login %+v", l)
	}
	want := AccountInfo{Name: "alice", Exists: true, Home: "/home/alice", Shell: "/bin/bash", Groups: []string{"alice", "sudo"},
		Primary: "alice", SSHDir: FileInfo{Exists: true, Type: "directory", Mode: 0o700, User: "alice", Group: "alice", UID: 1001, GID: 1001, Size: 4096},
		KeyFile: FileInfo{Exists: true, Type: "regular file", Mode: 0o600, User: "alice", Group: "alice", UID: 1001, GID: 1001},
		Keys:    []byte{}, KeysRead: true}
	if got := Answer[AccountInfo](a, Account{Name: "alice"}); !reflect.DeepEqual(got, want) {
		t.Errorf("account\n%+v, want\n%+v", got, want)
	}
	if got := Answer[AccountInfo](a, Account{Name: "bob"}); got.Exists || got.Name != "bob" {
		t.Errorf("bob %+v", got)
	}
	if u := Answer[UnitInfo](a, Unit{Name: "ssh.socket"}); u.Init != "systemd" || u.Enabled != "enabled" || u.Active != "active" ||
		!reflect.DeepEqual(u.Listen, []string{"[::]:22"}) {
		t.Errorf("unit %+v", u)
	}
	p := Answer[PackagesInfo](a, Packages{Names: []string{"ufw", "ppp"}, Apt: true})
	if !p.Installed["ufw"] || p.Installed["ppp"] || p.Lists == nil || *p.Lists != (ListsAge{1000, 900, -1, true, -1}) || len(p.Virtual) != 0 {
		t.Errorf("packages %+v", p)
	}
	if d := Answer[map[string]string](a, NetDevices{}); !reflect.DeepEqual(d, map[string]string{"eth:0": "connected"}) {
		t.Errorf("devices %v", d)
	}
	c := Answer[ConfigFiles](a, Configs{Patterns: "/etc/ssh/*"})
	if string(c.Data["/etc/ssh/sshd_config"]) != "Port 22\n" || !c.Unreadable["/etc/ssh/secret"] || len(c.Data) != 1 {
		t.Errorf("configs %+v", c)
	}
	if c := a.Content("/big"); c.Readable || c.SHA256 != "abc" {
		t.Errorf("big %+v", c)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	order := []Request{Stat{Path: "/a"}}
	for _, out := range []string{
		rec(7, "stat-missing", ""),             // no such request
		rec(0, "stat", "one\ttwo"),             // a short stat
		rec(0, "what", ""),                     // an unknown field
		"0 stat !!notbase64\n",                 // not base64
		"S 0 -\n",                              // not a record
		"",                                     // no answer
		rec(-1, "stat-missing", ""),            // a negative index
		"0 stat-missing\n",                     // no value
		rec(0, "stat-missing", "") + "garbage", // a line that is not a record
	} {
		if _, err := Decode([]byte(out), order); err == nil {
			t.Errorf("accepted %q", out)
		}
	}
	lo := []Request{Leftovers{Dir: "/etc"}}
	for _, out := range []string{rec(0, "rootonly", "yes"), rec(0, "rootonly", "1") + rec(0, "name", "../x"), rec(0, "name", "x")} {
		if _, err := Decode([]byte(out), lo); err == nil {
			t.Errorf("leftovers: accepted %q", out)
		}
	}
}

// Errors about a sensitive path (a sensitive command's creates guard) or a
// command do not show it; errors about other paths name them.
func TestErrorsNameNoSecret(t *testing.T) {
	order := []Request{Stat{Path: "/root/hunter2.done", Sensitive: true}, File{Path: "/root/hunter2.env", Sensitive: true},
		Output{Cmd: "curl -H 'token: hunter2' x"}, Exit{Cmd: "test hunter2"}}
	for _, out := range []string{rec(0, "stat", "garbage"), rec(0, "stat-missing", ""), rec(0, "stat-missing", "") + "1 data !!\n",
		rec(0, "stat-missing", "") + rec(1, "unreadable", "") + rec(2, "exit", "x") + rec(2, "stdout", ""),
		rec(0, "stat-missing", "") + rec(1, "unreadable", "") + "2 exit :0\n" + rec(2, "stdout", "") + rec(3, "exit", "no")} {
		_, err := Decode([]byte(out), order)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("answer %q: err = %v", out, err)
		}
	}
	order = []Request{Stat{Path: "/etc/motd"}, File{Path: "/etc/motd"}}
	for out, want := range map[string]string{
		rec(0, "stat", "garbage"):                           `the path probe (stat) of "/etc/motd"`,
		rec(0, "stat-missing", ""):                          `no answer for the file probe (read) of "/etc/motd"`,
		rec(0, "stat-missing", "") + "1 data !!notbase64\n": `the file probe (read) of "/etc/motd"`,
	} {
		if _, err := Decode([]byte(out), order); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("answer %q: err = %v, want %q", out, err, want)
		}
	}
}

// cutHost answers every command with output that Run had to cut.
type cutHost struct{ hosts.Host }

func (cutHost) Name() string { return "cut" }
func (cutHost) Run(context.Context, string) (hosts.Result, error) {
	return hosts.Result{Stdout: []byte(rec(0, "stat-missing", "") + endMarker + "\n"), StdoutTruncated: true}, nil
}

// Answers cut short by the output bound are refused as such, not read
// as if whole.
func TestGatherRefusesTruncatedAnswers(t *testing.T) {
	_, err := Gather(t.Context(), cutHost{}, []Request{Stat{Path: "/x"}})
	if err == nil || !strings.Contains(err.Error(), "gathering state: the host's answers are larger than 64 MiB") {
		t.Errorf("err %v", err)
	}
}

// endless answers without the end marker, as a script that died would.
type endless struct{ hosts.Host }

func (endless) Name() string { return "endless" }
func (endless) Run(context.Context, string) (hosts.Result, error) {
	return hosts.Result{Stdout: []byte(rec(0, "stat-missing", "")), Stderr: []byte("killed")}, nil
}

func TestGatherNeedsTheEndMarker(t *testing.T) {
	_, err := Gather(t.Context(), endless{}, []Request{Stat{Path: "/x"}})
	if err == nil || !strings.Contains(err.Error(), "the probe script exited 0: killed") {
		t.Errorf("err %v", err)
	}
}

func TestLeftoversOf(t *testing.T) {
	names := []string{".a b.hako-0123456789ab", ".a b.hako-0123", ".a b.hako-0123456789AB", ".c.hako-0123456789ab",
		".x.hako-0123456789ab.hako-ba9876543210", ".a b.hako-0123456789abc"}
	lo := LeftoverFiles{Dir: "/etc", Names: names, RootOnly: true}
	for p, want := range map[string]string{"/etc/a b": "/etc/.a b.hako-0123456789ab", "/etc/c": "/etc/.c.hako-0123456789ab",
		"/etc/x.hako-0123456789ab": "/etc/.x.hako-0123456789ab.hako-ba9876543210", "/etc/x": "", "/etc/a": ""} {
		if got := strings.Join(lo.Of(p), " "); got != want {
			t.Errorf("leftovers of %s: %q, want %q", p, got, want)
		}
	}
}

// local runs the real script with sh on this machine.
func local() hosts.Host { return hosts.NewLocal("local") }

// The script answers every request type from the real .sh, run locally
// against temp files.
func TestGatherLocally(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	big := filepath.Join(dir, "big")
	must(t, os.WriteFile(small, []byte("hello\n"), 0o640))
	bigData := []byte(strings.Repeat("x", MaxRead+1))
	must(t, os.WriteFile(big, bigData, 0o644))
	must(t, os.Symlink(small, filepath.Join(dir, "link")))
	must(t, os.WriteFile(filepath.Join(dir, ".small.hako-0123456789ab"), nil, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "conf"), []byte("a b\n"), 0o600))
	t.Setenv("HAKO_SSH_CONNECTION", "192.0.2.1 50000 192.0.2.2 22")
	reqs := []Request{Stat{Path: small}, Stat{Path: filepath.Join(dir, "none")}, File{Path: small}, File{Path: big},
		File{Path: filepath.Join(dir, "link")}, Exit{Cmd: "exit 4"}, Output{Cmd: "printf 'a=b\\n\\nlast\\n'; exit 3"},
		Output{Cmd: "printf 'no newline'"}, Output{Cmd: "echo x >&2"}, Leftovers{Dir: dir}, Leftovers{Dir: filepath.Join(dir, "none")},
		Endpoint{}, Login{}, Account{Name: "root"}, Account{Name: "hako-no-such-user"}, Unit{Name: "ssh.socket"},
		Packages{Names: []string{"hako-no-such-package"}, Apt: true}, NetDevices{}, Configs{Patterns: filepath.Join(dir, "con*") + " " + filepath.Join(dir, "nomatch*")}}
	a, err := Gather(t.Context(), local(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if fi := a.Stat(small); !fi.Exists || fi.Type != "regular file" || fi.Mode != 0o640 || fi.Size != 6 || fi.UID != os.Getuid() {
		t.Errorf("stat %+v", fi)
	}
	if a.Stat(filepath.Join(dir, "none")).Exists {
		t.Error("a missing path exists")
	}
	if c := a.Content(small); !c.Readable || string(c.Data) != "hello\n" {
		t.Errorf("small %+v", c)
	}
	sum := sha256.Sum256(bigData)
	if c := a.Content(big); c.Readable || c.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("big: readable %v, sha256 %q", c.Readable, c.SHA256)
	}
	if c := a.Content(filepath.Join(dir, "link")); c.Readable || c.SHA256 != "" {
		t.Errorf("read through a link: %+v", c)
	}
	if a.Exit("exit 4") != 4 {
		t.Errorf("exit %d", a.Exit("exit 4"))
	}
	for cmd, want := range map[string]CmdOutput{"printf 'a=b\\n\\nlast\\n'; exit 3": {3, []byte("a=b\n\nlast\n")},
		"printf 'no newline'": {0, []byte("no newline")}, "echo x >&2": {0, []byte{}}} {
		if got := a.Output(cmd); got.ExitCode != want.ExitCode || string(got.Stdout) != string(want.Stdout) {
			t.Errorf("%s: %d %q", cmd, got.ExitCode, got.Stdout)
		}
	}
	if lo := a.Leftovers(dir); len(lo.Of(small)) != 1 {
		t.Errorf("leftovers %+v", lo)
	}
	if lo := a.Leftovers(filepath.Join(dir, "none")); lo.RootOnly || len(lo.Names) != 0 {
		t.Errorf("leftovers of nothing %+v", lo)
	}
	if e := Answer[hosts.Endpoint](a, Endpoint{}); e.ServerAddr != "192.0.2.2" || e.ServerPort != 22 {
		t.Errorf("endpoint %+v", e)
	}
	if l := Answer[LoginInfo](a, Login{}); l.UID != os.Getuid() || l.Name == "" {
		t.Errorf("login %+v", l)
	}
	if os.Getuid() == 0 {
		if r := Answer[AccountInfo](a, Account{Name: "root"}); !r.Exists || r.Home == "" || r.Primary != "root" || r.Name != "root" {
			t.Errorf("root %+v", r)
		}
	}
	if r := Answer[AccountInfo](a, Account{Name: "hako-no-such-user"}); r.Exists {
		t.Errorf("no such user %+v", r)
	}
	_ = Answer[UnitInfo](a, Unit{Name: "ssh.socket"})
	if p := Answer[PackagesInfo](a, Packages{Names: []string{"hako-no-such-package"}, Apt: true}); p.Installed["hako-no-such-package"] {
		t.Errorf("packages %+v", p)
	}
	_ = Answer[map[string]string](a, NetDevices{})
	if c := Answer[ConfigFiles](a, Configs{Patterns: filepath.Join(dir, "con*") + " " + filepath.Join(dir, "nomatch*")}); string(c.Data[filepath.Join(dir, "conf")]) != "a b\n" || len(c.Data) != 1 {
		t.Errorf("configs %+v", c)
	}
}

// The package probe runs apt-cache only for names dpkg does not know as
// installed: fake dpkg-query and apt-cache prove it in a local shell.
func TestPackagesAskAptOnlyWhenNeeded(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "apt-cache.log")
	for name, body := range map[string]string{
		"dpkg-query": "printf 'ufw\\tinstalled\\nppp\\tconfig-files\\n'",
		"apt-cache":  "echo \"$@\" >>" + log,
	} {
		must(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	}
	run := func(ns ...string) PackagesInfo {
		t.Helper()
		req := Packages{Names: ns, Apt: true}
		script, order := Script([]Request{req})
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		a, err := Decode(out, order)
		if err != nil {
			t.Fatal(err)
		}
		return Answer[PackagesInfo](a, req)
	}
	if p := run("ufw", "ufw:amd64"); p.Lists != nil || !p.Installed["ufw"] {
		t.Errorf("all installed, yet: %+v", p)
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("apt-cache ran although every name is installed")
	}
	if p := run("ufw", "ppp", "libz-dev"); p.Lists == nil {
		t.Errorf("no apt facts: %+v", p)
	}
	if got, _ := os.ReadFile(log); string(got) != "showpkg -- ppp libz-dev\n" {
		t.Errorf("apt-cache %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
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

func TestVirtualNames(t *testing.T) {
	awk := "Package: awk\nVersions: \n\nReverse Provides: \nmawk 1.3.4 (= )\ngawk 1:5.2.1-2 (= )\nmawk 1.3.3 (= )\n"
	got := virtualNames(showpkgVirtual + showpkgReal + awk)
	if len(got) != 2 || strings.Join(got["libz-dev"], ",") != "zlib1g-dev" || strings.Join(got["awk"], ",") != "gawk,mawk" {
		t.Errorf("got %v", got)
	}
}

func TestParseListsAge(t *testing.T) {
	for line, want := range map[string]ListsAge{"10000 9000 1000 1 -": {10000, 9000, 1000, true, -1}, "10000 - - 0 -": {10000, -1, -1, false, -1},
		"10000 9000 1000 1 9500": {10000, 9000, 1000, true, 9500}, "10000 9000 1000 1": {},
		"garbage": {}, "- 1 1 1 1": {}} {
		if got := parseListsAge(line); got != want {
			t.Errorf("%q: %+v", line, got)
		}
	}
}

// A long line in dpkg-query's answer does not end the reading.
func TestInstalledReadsPastALongLine(t *testing.T) {
	got := installed(strings.Repeat("x", 100000) + "\tinstalled\nnginx\tinstalled\n")
	if !got["nginx"] {
		t.Errorf("installed: %v entries, nginx missing", len(got))
	}
}

func TestFake(t *testing.T) {
	f := NewFake().Set(Stat{Path: "/a"}, FileInfo{Exists: true})
	a, err := f.Answer([]Request{Stat{Path: "/a"}})
	if err != nil || !a.Stat("/a").Exists {
		t.Fatalf("%v %+v", err, a)
	}
	if _, err := f.Answer([]Request{Stat{Path: "/b"}}); err == nil {
		t.Error("answered a request nobody set")
	}
	f.Else = Fresh
	a, err = f.Answer([]Request{Stat{Path: "/b"}, Exit{Cmd: "x"}})
	if err != nil || a.Stat("/b").Exists || a.Exit("x") != 1 {
		t.Errorf("fresh: %v", err)
	}
	// A File set without Expect answers one with Expect as a host does:
	// the hash always, the content only when the hash differs.
	f.Set(File{Path: "/c"}, Content{Readable: true, Data: []byte("on\n")})
	same, other := File{Path: "/c", Expect: hexSum("on\n")}, File{Path: "/c", Expect: hexSum("off\n")}
	if a, err = f.Answer([]Request{same, other}); err != nil {
		t.Fatal(err)
	}
	if c := Answer[Content](a, same); c.Readable || c.Data != nil || c.SHA256 != hexSum("on\n") {
		t.Errorf("as expected: %+v", c)
	}
	if c := Answer[Content](a, other); !c.Readable || string(c.Data) != "on\n" || c.SHA256 != hexSum("on\n") {
		t.Errorf("differs: %+v", c)
	}
}

// The marker line ends the answers and carries the PIDs the host handed
// out before and after: their difference is the processes the probe
// started; anything odd counts as unknown.
func TestEndLineCountsProcesses(t *testing.T) {
	for out, want := range map[string]int{
		"0 stat :x\n" + endMarker + " 100 124\n": 24,
		endMarker + " 7 7\n":                     0,
		"0 stat :x\n" + endMarker + "  \n":       -1, // no ns_last_pid
		"0 stat :x\n" + endMarker + " 900 12\n":  -1, // PIDs wrapped around
		"0 stat :x\n" + endMarker + " 1 x\n":     -1,
	} {
		pids, ok := endLine([]byte(out))
		if !ok {
			t.Errorf("%q: no end line", out)
		} else if got := processes(pids); got != want {
			t.Errorf("%q: %d processes, want %d", out, got, want)
		}
	}
	for _, out := range []string{"", "0 stat :x\n", "0 stat :x\n" + endMarker, "0 stat :x\n" + endMarker + "-not\n"} {
		if _, ok := endLine([]byte(out)); ok {
			t.Errorf("%q: taken as ended", out)
		}
	}
	// The local shell reads the counter too, where the kernel has one.
	a, err := Gather(t.Context(), local(), []Request{Stat{Path: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/proc/sys/kernel/ns_last_pid"); err == nil && a.Processes < 1 {
		t.Errorf("processes %d", a.Processes)
	}
}

// An account asked by name and as the login user ("", SUDO_USER) is read
// once in the script: both answers are the one a single ask gets.
func TestAccountAskedTwiceAnswersAlike(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("reads root's account as root")
	}
	t.Setenv("SUDO_USER", "root")
	one, err := Gather(t.Context(), local(), []Request{Account{Name: "root"}})
	if err != nil {
		t.Fatal(err)
	}
	two, err := Gather(t.Context(), local(), []Request{Account{Name: "root"}, Account{Name: ""}, Account{Name: "hako-no-such-user"}, Account{Name: "root "}})
	if err != nil {
		t.Fatal(err)
	}
	want := Answer[AccountInfo](one, Account{Name: "root"})
	if !want.Exists || want.Home == "" || want.Primary != "root" || !want.SSHDir.Exists && want.KeyFile.Exists {
		t.Fatalf("root %+v", want)
	}
	for _, r := range []Request{Account{Name: "root"}, Account{Name: ""}} {
		if got := Answer[AccountInfo](two, r); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", r.Describe(), got, want)
		}
	}
	if got := Answer[AccountInfo](two, Account{Name: "root "}); got.Exists || got.Name != "root " {
		t.Errorf("another name answered as root: %+v", got)
	}
}
