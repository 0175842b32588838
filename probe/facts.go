package probe

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/hosts"
)

// The requests of this package, each answered by a function of probe.sh,
// and their answers.

func builtin(name string, args ...string) (Func, []string) { return Func{Name: name}, args }

// batch is a function of probe.sh that answers all its requests in one
// call.
func batch(name string, args ...string) (Func, []string) {
	return Func{Name: name, Batch: true}, args
}

// badField is the error of a record a decoder does not expect.
func badField(r Record) error {
	return fmt.Errorf("unexpected answer %s %.80q", r.Field, r.Value)
}

// Stat asks for the lstat of a path.
type Stat struct {
	Path string
	// Sensitive: Path derives from a sensitive value (a command's creates
	// guard), so errors name the request by its kind only.
	Sensitive bool
}

// FileInfo is what a Stat learned. Exists is false for a missing path.
type FileInfo struct {
	Exists   bool
	Type     string // "regular file", "directory", "symbolic link", ...
	Mode     int    // permission bits
	User     string // owner name ("UNKNOWN" when the uid has none)
	Group    string
	UID, GID int
	Size     int64
}

func (r Stat) Call() (Func, []string) { return batch("hako_stats", r.Path) }
func (r Stat) isSensitive() bool      { return r.Sensitive }
func (r Stat) Describe() string       { return describePath("the path probe (stat)", r.Path, r.Sensitive) }
func (r Stat) Decode(recs []Record) (any, error) {
	return decodeStat(recs[0], "stat")
}

func describePath(what, p string, sensitive bool) string {
	if sensitive {
		return what + " of a sensitive path (not shown)"
	}
	return what + " of " + strconv.Quote(p)
}

// decodeStat reads a record of statrec (probe.sh) named field.
func decodeStat(r Record, field string) (FileInfo, error) {
	if r.Field == field+"-missing" {
		return FileInfo{}, nil
	}
	if r.Field != field {
		return FileInfo{}, badField(r)
	}
	f := strings.Split(string(r.Value), "\t")
	if len(f) != 7 {
		return FileInfo{}, fmt.Errorf("unexpected stat answer %q", r.Value)
	}
	mode, err1 := strconv.ParseInt(f[1], 8, 32)
	uid, err2 := strconv.Atoi(f[4])
	gid, err3 := strconv.Atoi(f[5])
	size, err4 := strconv.ParseInt(f[6], 10, 64)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return FileInfo{}, fmt.Errorf("unexpected stat answer %q", r.Value)
		}
	}
	typ := f[0]
	if typ == "regular empty file" { // GNU stat's word for a file of size 0
		typ = "regular file"
	}
	return FileInfo{Exists: true, Type: typ, Mode: int(mode), User: f[2], Group: f[3],
		UID: uid, GID: gid, Size: size}, nil
}

// File asks for the hash and content of a regular file, read as root only
// when the folders on its way are root's alone (rootpath's route), else
// as the one user who owns folders or links there, or as nobody.
type File struct {
	Path      string
	Sensitive bool // as for Stat
	// Expect is the hex SHA-256 of the content the caller compares the
	// file with: the content comes back only when the file's hash differs
	// (a diff to show). "": the content always comes back (up to MaxRead).
	Expect string
}

// Content is what a File learned.
type Content struct {
	// Readable: Data is the whole content (a file no larger than MaxRead
	// whose hash is not Expect).
	Readable bool
	Data     []byte
	// SHA256 is the hex hash of a regular file hako could read ("" when
	// it could not).
	SHA256 string
}

func (r File) Call() (Func, []string) { return batch("hako_files", r.Path, cmp.Or(r.Expect, "-")) }
func (r File) isSensitive() bool      { return r.Sensitive }
func (r File) Describe() string       { return describePath("the file probe (read)", r.Path, r.Sensitive) }
func (r File) Decode(recs []Record) (any, error) {
	var c Content
	for _, rec := range recs {
		switch rec.Field {
		case "data":
			c.Readable, c.Data = true, rec.Value
		case "sha256":
			c.SHA256 = string(rec.Value)
		case "unreadable": // also after a hash, when the read failed
			c = Content{}
		default:
			return nil, badField(rec)
		}
	}
	return c, nil
}

// Exit asks for the exit status of a read-only command.
type Exit struct{ Cmd string }

func (r Exit) Call() (Func, []string) { return builtin("hako_exit", r.Cmd) }

// Describe names a command by its kind only: its text may carry a secret
// and is long.
func (r Exit) Describe() string { return "a command probe" }
func (r Exit) Decode(recs []Record) (any, error) {
	if recs[0].Field != "exit" {
		return nil, badField(recs[0])
	}
	return strconv.Atoi(string(recs[0].Value))
}

// Output asks for the exit status and standard output of a read-only
// command (its errors are discarded).
type Output struct{ Cmd string }

// CmdOutput is what an Output learned.
type CmdOutput struct {
	ExitCode int
	Stdout   []byte
}

func (r Output) Call() (Func, []string) { return builtin("hako_output", r.Cmd) }
func (r Output) Describe() string       { return "a command probe" }
func (r Output) Decode(recs []Record) (any, error) {
	var o CmdOutput
	var err error
	if len(recs) != 2 || recs[0].Field != "exit" || recs[1].Field != "stdout" {
		return nil, fmt.Errorf("unexpected answer from a command")
	}
	if o.ExitCode, err = strconv.Atoi(string(recs[0].Value)); err != nil {
		return nil, err
	}
	o.Stdout = recs[1].Value
	return o, nil
}

// TempSuffixLen is the length of the hex suffix hosts gives temp files
// (DIR/.BASE.hako-<12 hex digits>); probe.sh's glob matches as many.
const TempSuffixLen = 12

// Leftovers asks for hako's temp files left in a folder by interrupted
// writes, and whether the folder is root's alone. It is asked once per
// folder, however many files a plan writes there.
type Leftovers struct{ Dir string }

// LeftoverFiles is what a Leftovers learned about a folder.
type LeftoverFiles struct {
	// Dir is the folder asked about.
	Dir string
	// Names are the files in it named like hako's temp files, regular
	// files only: a symlink is never one of hako's.
	Names []string
	// RootOnly: the folder and every folder above it are root's alone.
	RootOnly bool
}

func (r Leftovers) Call() (Func, []string) { return batch("hako_leftovers_in", r.Dir) }
func (r Leftovers) Describe() string {
	return describePath("the folder probe (leftover temp files)", r.Dir, false)
}
func (r Leftovers) Decode(recs []Record) (any, error) {
	lo := LeftoverFiles{Dir: r.Dir}
	for i, rec := range recs {
		switch {
		case i == 0 && rec.Field == "nodir" && len(recs) == 1:
		case i == 0 && rec.Field == "rootonly" && (string(rec.Value) == "0" || string(rec.Value) == "1"):
			lo.RootOnly = string(rec.Value) == "1"
		case i > 0 && rec.Field == "name" && !strings.ContainsRune(string(rec.Value), '/'):
			lo.Names = append(lo.Names, string(rec.Value))
		default:
			return lo, badField(rec)
		}
	}
	return lo, nil
}

// Of lists the leftover temp files of the file p (full paths), which must
// be in the folder: DIR/.BASE.hako-<12 hex digits>, exactly.
func (lo LeftoverFiles) Of(p string) []string {
	prefix := "." + path.Base(p) + ".hako-"
	var out []string
	for _, n := range lo.Names {
		if sfx, ok := strings.CutPrefix(n, prefix); ok && isTempSuffix(sfx) {
			out = append(out, path.Join(lo.Dir, n))
		}
	}
	return out
}

func isTempSuffix(s string) bool {
	if len(s) != TempSuffixLen {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// RealDir asks where a folder really is: its path with every symlink on
// the way resolved (as the kernel resolves it when a file in it is
// written), or, for a folder that does not exist, the real path of the
// nearest folder above it that does, followed by the missing rest. Two
// paths that name the same place through a symlink have the same answer.
type RealDir struct{ Path string }

func (r RealDir) Call() (Func, []string) { return batch("hako_realdirs", r.Path) }
func (r RealDir) Describe() string {
	return describePath("the folder probe (real path)", r.Path, false)
}

// Decode: the real path, "" when the host could not tell.
func (r RealDir) Decode(recs []Record) (any, error) {
	switch rec := recs[0]; {
	case len(recs) != 1:
		return "", badField(recs[1])
	case rec.Field == "unknown":
		return "", nil
	case rec.Field != "real" || !path.IsAbs(string(rec.Value)):
		return "", badField(rec)
	}
	return path.Clean(string(recs[0].Value)), nil
}

// Endpoint asks how the host sees this connection; the answer is a
// hosts.Endpoint, zero for a local host or an unreadable value.
type Endpoint struct{}

func (Endpoint) Call() (Func, []string) { return builtin("hako_endpoint") }
func (Endpoint) Describe() string       { return "the connection probe" }
func (Endpoint) Decode(recs []Record) (any, error) {
	if recs[0].Field != "conn" {
		return nil, badField(recs[0])
	}
	return parseSSHConnection(string(recs[0].Value)), nil
}

// parseSSHConnection reads SSH_CONNECTION: "client_ip client_port
// server_ip server_port"; anything else gives a zero Endpoint.
func parseSSHConnection(s string) hosts.Endpoint {
	f := strings.Fields(s)
	if len(f) != 4 {
		return hosts.Endpoint{}
	}
	port, err := strconv.Atoi(f[3])
	if err != nil {
		return hosts.Endpoint{}
	}
	return hosts.Endpoint{ClientAddr: f[0], ServerAddr: f[2], ServerPort: port}
}

// Login asks who probes: the uid of the probing shell and the user hako
// logged in as.
type Login struct{}

// LoginInfo is what a Login learned.
type LoginInfo struct {
	UID  int    // of the probing shell (the become user)
	Name string // the user hako logged in as
}

func (Login) Call() (Func, []string) { return builtin("hako_login") }
func (Login) Describe() string       { return "the login probe" }
func (Login) Decode(recs []Record) (any, error) {
	if len(recs) != 2 || recs[0].Field != "uid" || recs[1].Field != "name" {
		return nil, fmt.Errorf("unexpected answer from the login probe")
	}
	uid, err := strconv.Atoi(string(recs[0].Value))
	return LoginInfo{UID: uid, Name: string(recs[1].Value)}, err
}

// Account asks for a user account: its passwd entry, groups, ~/.ssh and
// authorized_keys (read as the user, as sshd reads it). An empty Name asks
// for the user hako logged in as.
type Account struct{ Name string }

// AccountInfo is what an Account learned.
type AccountInfo struct {
	Name    string // the user asked about (the login user's name for Name "")
	Exists  bool
	Home    string
	Shell   string
	Groups  []string // all of them, primary first (id -nG)
	Primary string
	SSHDir  FileInfo // ~/.ssh
	KeyFile FileInfo // ~/.ssh/authorized_keys
	// Keys is authorized_keys' content when KeysRead: a regular file, not
	// a link, that the user could read.
	Keys     []byte
	KeysRead bool
	// KeysUnreadable: authorized_keys is a regular file its user cannot
	// read.
	KeysUnreadable bool
}

func (r Account) Call() (Func, []string) { return builtin("hako_account", r.Name) }
func (r Account) Describe() string {
	if r.Name == "" {
		return "the account probe of the login user"
	}
	return "the account probe of " + strconv.Quote(r.Name)
}
func (r Account) Decode(recs []Record) (any, error) {
	var a AccountInfo
	for _, rec := range recs {
		var err error
		v := string(rec.Value)
		switch rec.Field {
		case "name":
			a.Name = v
		case "absent":
		case "passwd":
			f := strings.Split(v, ":")
			if len(f) != 7 {
				return nil, badField(rec)
			}
			a.Exists, a.Home, a.Shell = true, f[5], f[6]
		case "groups":
			a.Groups = strings.Fields(v)
		case "primary":
			a.Primary = v
		case "sshdir", "sshdir-missing":
			a.SSHDir, err = decodeStat(rec, "sshdir")
		case "keyfile", "keyfile-missing":
			a.KeyFile, err = decodeStat(rec, "keyfile")
		case "keys":
			a.Keys, a.KeysRead = rec.Value, true
		case "keys-unreadable":
			a.KeysUnreadable = true
		default:
			return nil, badField(rec)
		}
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Unit asks what systemd says of a unit: PID 1's name, is-enabled,
// is-active, and a socket unit's listen addresses.
type Unit struct{ Name string }

// UnitInfo is what a Unit learned. Enabled and Active are empty where
// systemctl said nothing (no systemd, an unknown unit on older systemd).
type UnitInfo struct {
	Init    string // PID 1's name: "systemd" on systemd hosts
	Enabled string // systemctl is-enabled
	Active  string // systemctl is-active
	Listen  []string
}

func (r Unit) Call() (Func, []string) { return builtin("hako_unit", r.Name) }
func (r Unit) Describe() string       { return "the unit probe of " + strconv.Quote(r.Name) }
func (r Unit) Decode(recs []Record) (any, error) {
	var u UnitInfo
	for _, rec := range recs {
		v := string(rec.Value)
		switch rec.Field {
		case "init":
			u.Init = v
		case "enabled":
			u.Enabled = v
		case "active":
			u.Active = v
		case "listen": // "[::]:22 (Stream)", one record per socket
			if v, _, _ = strings.Cut(v, " "); v != "" {
				u.Listen = append(u.Listen, v)
			}
		default:
			return nil, badField(rec)
		}
	}
	return u, nil
}

// Packages asks dpkg about names; with Apt, and only when some are not
// installed, also how fresh apt's package lists are and which of those
// names are purely virtual.
type Packages struct {
	Names []string
	Apt   bool
}

// PackagesInfo is what a Packages learned.
type PackagesInfo struct {
	Installed map[string]bool
	Lists     *ListsAge           // nil when every name was installed, or without Apt
	Virtual   map[string][]string // purely virtual names and their providers
}

// ListsAge holds the mtimes (-1: missing) that date the last apt-get update.
type ListsAge struct {
	Now, Stamp, Dir int64
	Have            bool  // some Packages list exists
	Failed          int64 // hako's mark of an update that failed (AptUpdateFailed)
}

// AptUpdateFailed is the file hako touches when an apt-get update it ran
// failed, and removes when one succeeds: a failed update still renames
// the lists it could fetch into place, which moves the lists directory's
// mtime, and must not make the lists count as fresh.
const AptUpdateFailed = "/var/lib/hako/apt-update-failed"

func (r Packages) Call() (Func, []string) {
	apt := "0"
	if r.Apt {
		apt = "1"
	}
	return builtin("hako_packages", append([]string{apt}, r.Names...)...)
}
func (r Packages) Describe() string { return "the package probe of " + strings.Join(r.Names, ", ") }
func (r Packages) Decode(recs []Record) (any, error) {
	p := PackagesInfo{Installed: map[string]bool{}}
	for _, rec := range recs {
		switch rec.Field {
		case "dpkg":
			p.Installed = installed(string(rec.Value))
		case "lists":
			l := parseListsAge(string(rec.Value))
			p.Lists = &l
		case "showpkg":
			p.Virtual = virtualNames(string(rec.Value))
		default:
			return nil, badField(rec)
		}
	}
	return p, nil
}

// installed parses dpkg-query's answer into the set of installed packages.
func installed(out string) map[string]bool {
	got := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		name, status, _ := strings.Cut(strings.TrimRight(l, "\r"), "\t")
		if status == "installed" {
			got[name] = true
		}
	}
	return got
}

// parseListsAge reads "NOW STAMP DIR HAVE"; anything odd reads as stale.
func parseListsAge(s string) ListsAge {
	f := strings.Fields(s)
	if len(f) != 5 {
		return ListsAge{}
	}
	// NOW STAMP DIR HAVE FAILED; every mtime but NOW may be "-" (missing).
	var v [4]int64
	for i, field := range []string{f[0], f[1], f[2], f[4]} {
		if field == "-" && i > 0 {
			v[i] = -1
			continue
		}
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return ListsAge{}
		}
		v[i] = n
	}
	return ListsAge{Now: v[0], Stamp: v[1], Dir: v[2], Have: f[3] == "1", Failed: v[3]}
}

// virtualNames reads apt-cache showpkg: a name without versions that
// other packages provide is purely virtual.
func virtualNames(out string) map[string][]string {
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
	for _, line := range strings.Split(out, "\n") {
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

// NetDevices asks for NetworkManager's devices and their states; the
// answer is a map from device to state, nil when nmcli is missing.
type NetDevices struct{}

func (NetDevices) Call() (Func, []string) { return builtin("hako_netdevices") }
func (NetDevices) Describe() string       { return "the NetworkManager probe" }
func (NetDevices) Decode(recs []Record) (any, error) {
	var devs map[string]string
	for _, rec := range recs {
		v := string(rec.Value)
		switch rec.Field {
		case "nmcli":
			if v == "1" {
				devs = map[string]string{}
			}
		case "device": // nmcli -t escapes colons in names
			if i := strings.LastIndex(v, ":"); i > 0 && devs != nil {
				devs[strings.ReplaceAll(v[:i], `\:`, ":")] = v[i+1:]
			}
		default:
			return nil, badField(rec)
		}
	}
	return devs, nil
}

// Configs asks for the content of the regular files that Patterns (shell
// patterns, separated by spaces, never from user input) match. They are
// read as root: this is for system configuration in root's folders.
type Configs struct{ Patterns string }

// ConfigFiles is what a Configs learned.
type ConfigFiles struct {
	Data       map[string][]byte // by path
	Unreadable map[string]bool   // files hako could not read
}

func (r Configs) Call() (Func, []string) { return builtin("hako_configs", r.Patterns) }
func (r Configs) Describe() string       { return "the configuration files probe" }
func (r Configs) Decode(recs []Record) (any, error) {
	c := ConfigFiles{Data: map[string][]byte{}, Unreadable: map[string]bool{}}
	var p string
	for i, rec := range recs {
		switch {
		case i == 0 && rec.Field == "configs":
		case i > 0 && rec.Field == "path":
			p = string(rec.Value)
		case p != "" && rec.Field == "data":
			c.Data[p], p = rec.Value, ""
		case p != "" && rec.Field == "unreadable":
			c.Unreadable[p], p = true, ""
		default:
			return nil, badField(rec)
		}
	}
	return c, nil
}
