package tasks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
)

// User manages a local account: that it exists (or not), its supplementary
// groups, its login shell, the keys in its ~/.ssh/authorized_keys and a
// passwordless sudo rule in /etc/sudoers.d/hako-NAME.
//
// Everything Check needs comes from one output probe; Apply converges with
// one command (useradd/usermod, ~/.ssh, a sudo rule removal) and atomic
// writes of authorized_keys and the sudo rule.
type User struct {
	addr            Address
	name            string
	present         bool
	groups          []string // supplementary groups the user must be in
	exclusiveGroups bool     // and no others
	shell           string   // "": not managed for an existing user (/bin/bash for a new one)
	keys            []authKey
	keysSensitive   bool
	exclusiveKeys   bool
	sudo            string // "nopasswd", "none" or "" (not managed)
}

// authKey is one public key line of the plan.
type authKey struct {
	line string // as written in the plan, one line
	pub  ssh.PublicKey
	show string // type, fingerprint and comment, for plan output
}

const defaultShell = "/bin/bash"

func init() {
	register(Kind{
		Name: "user",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "name", Required: true}, {Name: "groups"}, {Name: "exclusive_groups"}, {Name: "shell"},
			{Name: "authorized_keys"}, {Name: "exclusive_keys"}, {Name: "sudo"}, {Name: "state"},
		}},
		Decode:         decodeUser,
		SensitiveAttrs: []string{"authorized_keys"},
	})
}

// userName is Debian's default NAME_REGEX (adduser.conf), with useradd's
// 32-character limit. It has no dot on purpose: sudo skips files in
// /etc/sudoers.d whose names contain one, so hako-john.doe would be ignored.
var userName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

var groupName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)

func decodeUser(a *Attrs) Task {
	u := &User{addr: a.Addr, present: true, exclusiveGroups: a.Bool("exclusive_groups", false),
		exclusiveKeys: a.Bool("exclusive_keys", false), keysSensitive: a.Sensitive("authorized_keys")}
	if v, ok := a.value("name", cty.String); ok {
		u.name = v.AsString()
		if !userName.MatchString(u.name) {
			a.errorf("name", "Invalid user name", "%q is not a user name: use lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters.", u.name)
		}
	}
	seen := map[string]bool{}
	for _, g := range a.Strings("groups") {
		if !groupName.MatchString(g) {
			a.errorf("groups", "Invalid group name", "%q is not a group name.", g)
			continue
		}
		if !seen[g] {
			seen[g] = true
			u.groups = append(u.groups, g)
		}
	}
	if a.Has("shell") {
		u.shell = a.String("shell")
		if u.shell != "" && (!path.IsAbs(u.shell) || strings.ContainsAny(u.shell, ": \t\n")) {
			a.errorf("shell", "Invalid shell", "shell must be an absolute path without spaces or colons, such as \"/bin/bash\", got %q.", u.shell)
		}
	}
	u.keys = decodeKeys(a, u.keysSensitive)
	switch u.sudo = a.String("sudo"); u.sudo {
	case "", "nopasswd", "none":
	default:
		a.errorf("sudo", "Invalid sudo", `sudo must be "nopasswd" (a passwordless rule in /etc/sudoers.d) or "none" (no such rule), got %q.`, u.sudo)
	}
	switch s := a.String("state"); s {
	case "", "present":
	case "absent":
		u.present = false
		for _, n := range []string{"groups", "exclusive_groups", "shell", "authorized_keys", "exclusive_keys", "sudo"} {
			if a.Has(n) {
				a.errorf(n, "Attribute of an absent user", `%s has no meaning with state = "absent": the user is removed (and its sudo rule in /etc/sudoers.d with it).`, n)
			}
		}
	default:
		a.errorf("state", "Invalid state", `state must be "present" or "absent", got %q.`, s)
	}
	return u
}

// decodeKeys reads authorized_keys: each element is one or more lines of
// OpenSSH public keys (a .pub file or an authorized_keys file); blank and
// comment lines are skipped. A line that does not parse is reported by
// position only: it may be a private key pasted by mistake.
func decodeKeys(a *Attrs, sensitive bool) []authKey {
	var keys []authKey
	seen := map[string]bool{}
	for i, elem := range a.Strings("authorized_keys") {
		n := 0
		for _, line := range strings.Split(elem, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			n++
			pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
			if err != nil {
				hint := ""
				if strings.Contains(elem, "PRIVATE KEY") {
					hint = " It looks like a private key: give the public one (the .pub file)."
				}
				a.errorf("authorized_keys", "Invalid public key",
					"authorized_keys element %d, key line %d, is not an OpenSSH public key line (%v).%s", i+1, n, err, hint)
				continue
			}
			if id := string(pub.Marshal()); !seen[id] {
				seen[id] = true
				keys = append(keys, authKey{line: line, pub: pub, show: showKey(pub, comment, sensitive)})
			}
		}
		if n == 0 {
			a.errorf("authorized_keys", "Invalid public key", "authorized_keys element %d holds no key.", i+1)
		}
	}
	return keys
}

// showKey names a key in plan output without its whole base64 text.
func showKey(pub ssh.PublicKey, comment string, sensitive bool) string {
	if sensitive {
		return "(sensitive key)"
	}
	s := pub.Type() + " " + ssh.FingerprintSHA256(pub)
	if comment != "" {
		s += " " + comment
	}
	return s
}

func (u *User) Address() Address { return u.addr }

// Name is the user's login name.
func (u *User) Name() string { return u.name }

// Present reports whether the task makes sure the user exists (false:
// that it does not).
func (u *User) Present() bool { return u.present }

// Groups are the supplementary groups the user is put in.
func (u *User) Groups() []string { return append([]string(nil), u.groups...) }

// AuthorizedKeys are the keys the user will be able to log in with
// (besides any others already there, unless ExclusiveKeys).
func (u *User) AuthorizedKeys() []ssh.PublicKey {
	out := make([]ssh.PublicKey, len(u.keys))
	for i, k := range u.keys {
		out[i] = k.pub
	}
	return out
}

// ExclusiveGroups reports whether groups not in Groups are left (the
// primary group stays).
func (u *User) ExclusiveGroups() bool { return u.exclusiveGroups }

// ExclusiveKeys reports whether keys not in AuthorizedKeys are removed.
func (u *User) ExclusiveKeys() bool { return u.exclusiveKeys }

// GrantsSudo says whether the task manages the user's passwordless sudo
// rule (/etc/sudoers.d/hako-NAME) and, if so, whether it grants it.
// Membership of the sudo group (sudo with a password) is Groups' business.
func (u *User) GrantsSudo() (managed bool, grants bool) {
	return u.sudo != "", u.sudo == "nopasswd"
}

func (u *User) sudoersPath() string { return "/etc/sudoers.d/hako-" + u.name }

func (u *User) sudoRule() []byte {
	return []byte(u.name + " ALL=(ALL) NOPASSWD: ALL\n")
}

// probe prints, one tagged line each: the prober's uid and the user hako
// logged in as (sudo sets SUDO_USER); if the user exists, its passwd
// entry, groups, primary group, and the type, mode and owner of ~/.ssh and
// ~/.ssh/authorized_keys with the latter's content; then the same for the
// sudo rule. A missing user or file is just a missing line or "-".
func (u *User) probe() string {
	return `n=` + hosts.Quote(u.name) + `; f=` + hosts.Quote(u.sudoersPath()) + `
echo "U $(id -u) ${SUDO_USER:-$(id -un)}"
st() { if [ -e "$2" ] || [ -L "$2" ]; then printf '%s ' "$1"; stat -c '%a:%U:%G:%F' -- "$2"; else echo "$1 -"; fi; }
rd() { if [ -f "$2" ] && [ ! -L "$2" ]; then printf '%s ' "$1"; base64 -w0 < "$2"; echo; fi; }
if pw=$(getent passwd -- "$n"); then
  echo "P $pw"
  echo "G $(id -nG -- "$n")"
  echo "g $(id -gn -- "$n")"
  h=$(printf '%s\n' "$pw" | cut -d: -f6)
  st D "$h/.ssh"; st K "$h/.ssh/authorized_keys"; rd k "$h/.ssh/authorized_keys"
fi
st S "$f"; rd s "$f"`
}

func (u *User) Probes() []Probe { return []Probe{{ProbeOut, u.probe()}} }

// fileMeta is a stat answer of the user probe.
type fileMeta struct {
	exists       bool
	mode         int
	owner, group string
	typ          string
}

func (m fileMeta) String() string { return fmt.Sprintf("%04o %s", m.mode, m.owner) }

// userFacts is what the probe learned.
type userFacts struct {
	uid     int    // of the probing shell: root is needed
	login   string // the user hako is logged in as
	exists  bool
	shell   string
	home    string
	groups  []string // all of them, primary first (id -nG)
	primary string
	sshDir  fileMeta
	keyFile fileMeta
	keys    []byte
	sudo    fileMeta
	rule    []byte
}

func parseUserFacts(out Output) (*userFacts, error) {
	f := &userFacts{uid: -1}
	sc := bufio.NewScanner(bytes.NewReader(out.Stdout))
	sc.Buffer(make([]byte, 64*1024), 4*MaxRead)
	bad := func(line string) error { return fmt.Errorf("unexpected answer from the user probe: %.80q", line) }
	for sc.Scan() {
		line := sc.Text()
		tag, rest, _ := strings.Cut(line, " ")
		var err error
		switch tag {
		case "U":
			uid, login, _ := strings.Cut(rest, " ")
			if f.uid, err = strconv.Atoi(uid); err != nil {
				return nil, bad(line)
			}
			f.login = login
		case "P":
			fields := strings.Split(rest, ":")
			if len(fields) != 7 {
				return nil, bad(line)
			}
			f.exists, f.home, f.shell = true, fields[5], fields[6]
		case "G":
			f.groups = strings.Fields(rest)
		case "g":
			f.primary = rest
		case "D":
			f.sshDir, err = parseFileMeta(rest)
		case "K":
			f.keyFile, err = parseFileMeta(rest)
		case "S":
			f.sudo, err = parseFileMeta(rest)
		case "k":
			f.keys, err = base64.StdEncoding.DecodeString(rest)
		case "s":
			f.rule, err = base64.StdEncoding.DecodeString(rest)
		default:
			return nil, bad(line)
		}
		if err != nil {
			return nil, bad(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the user probe's answer: %w", err)
	}
	if f.uid < 0 {
		return nil, fmt.Errorf("the user probe did not answer (exit status %d)", out.ExitCode)
	}
	return f, nil
}

// parseFileMeta reads "MODE:USER:GROUP:TYPE" or "-".
func parseFileMeta(s string) (fileMeta, error) {
	if s == "-" {
		return fileMeta{}, nil
	}
	p := strings.SplitN(s, ":", 4)
	if len(p) != 4 {
		return fileMeta{}, errors.New("bad stat answer")
	}
	mode, err := strconv.ParseInt(p[0], 8, 32)
	if err != nil {
		return fileMeta{}, err
	}
	typ := p[3]
	if typ == "regular empty file" { // what GNU stat says of an empty one
		typ = "regular file"
	}
	return fileMeta{exists: true, mode: int(mode), owner: p[1], group: p[2], typ: typ}, nil
}

// userWork is what Apply does, worked out by Check.
type userWork struct {
	create     bool     // useradd
	addGroups  []string // usermod -a -G (or useradd -G)
	setGroups  []string // usermod -G (exclusive_groups)
	exclusive  bool     // setGroups applies
	shell      string   // useradd/usermod -s; "" unchanged
	sshDir     bool     // install -d ~/.ssh
	keys       []byte   // the new authorized_keys; nil: not written
	writeKeys  bool
	writeRule  bool
	removeRule bool
	remove     bool // userdel
	home       string
	primary    string
}

func (u *User) Check(s *State) (*Change, error) {
	f, err := parseUserFacts(s.Output(u.probe()))
	if err != nil {
		return nil, err
	}
	if f.uid != 0 {
		return nil, fmt.Errorf("managing users needs root, but the probe ran as uid %d: set become = true on the host", f.uid)
	}
	if !u.present {
		return u.checkAbsent(s, f)
	}
	w := &userWork{home: f.home, primary: f.primary}
	c := &Change{Address: u.addr, Summary: "user " + u.name, detail: w}
	if !f.exists {
		w.create = true
		w.addGroups = u.groups
		w.shell = u.shell
		if w.shell == "" {
			w.shell = defaultShell
		}
		c.Action, c.Summary = Create, "create user "+u.name
		if len(u.groups) > 0 {
			c.Attrs = append(c.Attrs, AttrChange{"groups", "", strings.Join(u.groups, ", ")})
		}
		c.Attrs = append(c.Attrs, AttrChange{"shell", "", w.shell})
		if len(u.keys) > 0 {
			w.sshDir, w.writeKeys = true, true
			for _, k := range u.keys {
				w.keys = append(w.keys, k.line+"\n"...)
				c.Attrs = append(c.Attrs, AttrChange{"authorized key", "", k.show})
			}
		}
	} else {
		c.Attrs = append(c.Attrs, u.checkGroups(f, w)...)
		if u.shell != "" && u.shell != f.shell {
			w.shell = u.shell
			c.Attrs = append(c.Attrs, AttrChange{"shell", f.shell, u.shell})
		}
		attrs, err := u.checkKeys(f, w)
		if err != nil {
			return nil, err
		}
		c.Attrs = append(c.Attrs, attrs...)
	}
	attr, err := u.checkSudo(f, w)
	if err != nil {
		return nil, err
	}
	if attr != nil {
		c.Attrs = append(c.Attrs, *attr)
	}
	if c.Action == NoOp && len(c.Attrs) > 0 {
		c.Action, c.Summary = Update, "update user "+u.name
	}
	return c, nil
}

// checkGroups compares the supplementary groups. The primary group counts
// as a group the user is in; exclusive_groups never removes it.
func (u *User) checkGroups(f *userFacts, w *userWork) []AttrChange {
	var have []string // supplementary, in id's order
	in := map[string]bool{f.primary: true}
	for _, g := range f.groups {
		if !in[g] {
			in[g] = true
			have = append(have, g)
		}
	}
	want := map[string]bool{}
	for _, g := range u.groups {
		want[g] = true
		if !in[g] {
			w.addGroups = append(w.addGroups, g)
		}
	}
	var after []string
	extra := false
	for _, g := range have {
		if u.exclusiveGroups && !want[g] {
			extra = true
			continue
		}
		after = append(after, g)
	}
	if len(w.addGroups) == 0 && !extra {
		return nil
	}
	after = append(after, w.addGroups...)
	if u.exclusiveGroups {
		w.exclusive = true
		w.setGroups = u.groups
		w.addGroups = nil
	}
	return []AttrChange{{"groups", strings.Join(have, ", "), strings.Join(after, ", ")}}
}

// describeOpts shows a key's options next to its fingerprint; not when the
// plan's keys are sensitive (an option such as command="..." may hold the
// secret).
func describeOpts(pub ssh.PublicKey, opts []string, sensitive bool) string {
	if sensitive {
		return "(sensitive key)"
	}
	o := strings.Trim(strings.Join(opts, ","), ",")
	if o == "" {
		o = "(none)"
	}
	return pub.Type() + " " + ssh.FingerprintSHA256(pub) + " " + o
}

// keyID identifies a key by its type and blob: options and comments do not
// make another key.
func keyID(pub ssh.PublicKey) string { return string(pub.Marshal()) }

// checkKeys compares ~/.ssh/authorized_keys line by line and works out its
// new content: non-exclusively, the plan's missing keys are appended to the
// file as it is; exclusively, lines with other keys (and lines that are not
// keys, comments aside) go too. It also wants what sshd's StrictModes
// wants: ~/.ssh a directory and both owned by the user and writable by
// nobody else.
func (u *User) checkKeys(f *userFacts, w *userWork) ([]AttrChange, error) {
	if len(u.keys) == 0 && !u.exclusiveKeys {
		return nil, nil
	}
	if !path.IsAbs(f.home) {
		return nil, fmt.Errorf("user %s has no absolute home directory (%q), so hako cannot manage its authorized_keys", u.name, f.home)
	}
	sshDir := path.Join(f.home, ".ssh")
	file := path.Join(sshDir, "authorized_keys")
	if f.sshDir.exists && f.sshDir.typ != "directory" {
		return nil, fmt.Errorf("%s exists and is a %s, not a directory", sshDir, f.sshDir.typ)
	}
	if f.keyFile.exists && f.keyFile.typ != "regular file" {
		return nil, fmt.Errorf("%s exists and is a %s, not a regular file; hako will not write through it", file, f.keyFile.typ)
	}
	var attrs []AttrChange
	want := map[string]bool{}
	wantOpts := map[string]string{} // the plan's options (from=, restrict, ...) by key
	planned := map[string]string{}
	for _, k := range u.keys {
		want[keyID(k.pub)] = true
		_, _, opts, _, _ := ssh.ParseAuthorizedKey([]byte(k.line))
		wantOpts[keyID(k.pub)] = strings.Join(opts, ",")
		planned[keyID(k.pub)] = k.line
	}
	have := map[string]bool{}
	var kept []string
	dropped := false
	if f.keyFile.exists {
		lines := strings.SplitAfter(string(f.keys), "\n")
		for _, line := range lines {
			if line == "" {
				continue
			}
			text := strings.TrimSpace(line)
			if text == "" || strings.HasPrefix(text, "#") {
				kept = append(kept, line)
				continue
			}
			pub, comment, opts, _, err := ssh.ParseAuthorizedKey([]byte(text))
			switch {
			case err == nil && want[keyID(pub)] && strings.Join(opts, ",") != wantOpts[keyID(pub)]:
				// The same key with other options (from=, restrict, ...):
				// the plan's line replaces it, options are security.
				have[keyID(pub)] = true
				dropped = true
				kept = append(kept, planned[keyID(pub)]+"\n")
				attrs = append(attrs, AttrChange{"authorized key options", describeOpts(pub, opts, u.keysSensitive), describeOpts(pub, strings.Split(wantOpts[keyID(pub)], ","), u.keysSensitive)})
			case err == nil && (want[keyID(pub)] || !u.exclusiveKeys):
				have[keyID(pub)] = true
				kept = append(kept, line)
			case !u.exclusiveKeys:
				kept = append(kept, line) // not a key hako knows; not its business
			case err == nil:
				dropped = true
				attrs = append(attrs, AttrChange{"authorized key", showKey(pub, comment, false), ""})
			default:
				dropped = true
				attrs = append(attrs, AttrChange{"authorized key", "unrecognised line " + strconv.Quote(shorten(text, 24)), ""})
			}
		}
	}
	content := strings.Join(kept, "")
	if content != "" && !strings.HasSuffix(content, "\n") {
		content += "\n"
	}
	added := false
	for _, k := range u.keys {
		if !have[keyID(k.pub)] {
			added = true
			attrs = append(attrs, AttrChange{"authorized key", "", k.show})
			content += k.line + "\n"
		}
	}
	if f.sshDir.exists && !strictOK(f.sshDir, u.name) {
		w.sshDir = true
		attrs = append(attrs, AttrChange{"~/.ssh", f.sshDir.String(), "0700 " + u.name})
	}
	badFile := f.keyFile.exists && !strictOK(f.keyFile, u.name)
	if badFile {
		attrs = append(attrs, AttrChange{"~/.ssh/authorized_keys", f.keyFile.String(), "0600 " + u.name})
	}
	if added || dropped || badFile {
		w.writeKeys, w.keys = true, []byte(content)
		w.sshDir = w.sshDir || !f.sshDir.exists
	}
	return attrs, nil
}

// strictOK: owned by the user and writable by no one else, as sshd's
// StrictModes requires.
func strictOK(m fileMeta, owner string) bool { return m.owner == owner && m.mode&0o022 == 0 }

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// checkSudo compares /etc/sudoers.d/hako-NAME with the rule, mode 0440
// and owner root.
func (u *User) checkSudo(f *userFacts, w *userWork) (*AttrChange, error) {
	if u.sudo == "" {
		return nil, nil
	}
	if f.sudo.exists && f.sudo.typ != "regular file" {
		return nil, fmt.Errorf("%s exists and is a %s, not a regular file", u.sudoersPath(), f.sudo.typ)
	}
	before := u.sudoBefore(f)
	switch {
	case u.sudo == "nopasswd" && before != "nopasswd":
		w.writeRule = true
		return &AttrChange{"sudo", before, "nopasswd"}, nil
	case u.sudo == "none" && f.sudo.exists:
		w.removeRule = true
		return &AttrChange{"sudo", before, "none"}, nil
	}
	return nil, nil
}

// sudoBefore describes the rule file as the host has it.
func (u *User) sudoBefore(f *userFacts) string {
	switch {
	case !f.sudo.exists:
		return "none"
	case !bytes.Equal(f.rule, u.sudoRule()):
		return "other rules in " + u.sudoersPath()
	case f.sudo.mode != 0o440 || f.sudo.owner != "root":
		return "nopasswd (" + f.sudo.String() + ")"
	}
	return "nopasswd"
}

// checkAbsent: the user and hako's sudo rule for it must not exist. The
// user hako is logged in as is not removed (unless -allow-risky
// login-user-sudo), root never.
func (u *User) checkAbsent(s *State, f *userFacts) (*Change, error) {
	switch {
	case u.name == f.login:
		r := &Refusal{Check: CheckLoginUserSudo, Reason: fmt.Sprintf("%s would remove the user %q, whom hako is logged in as on this host: the SSH connection and become depend on it; log in as another user to remove it", u.addr, u.name)}
		if err := s.refuse(r); err != nil {
			return nil, err
		}
	case u.name == "root":
		return nil, &Refusal{Reason: fmt.Sprintf("%s would remove the user root", u.addr)}
	}
	w := &userWork{}
	c := &Change{Address: u.addr, Summary: "user " + u.name + " (absent)", detail: w}
	if f.exists {
		w.remove = true
		c.Attrs = append(c.Attrs, AttrChange{"user", "present", "absent"})
	}
	if f.sudo.exists {
		w.removeRule = true
		c.Attrs = append(c.Attrs, AttrChange{"sudo", u.sudoBefore(f), "none"})
	}
	if len(c.Attrs) > 0 {
		c.Action, c.Summary = Delete, "remove user "+u.name
		if f.exists {
			c.Summary += " (its home " + f.home + " is kept)"
		}
	}
	return c, nil
}

// Apply runs one command for the account, ~/.ssh and removals, which also
// says where the home is (unknown before a new user exists); then writes
// authorized_keys and the sudo rule atomically.
func (u *User) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	w := c.detail.(*userWork)
	n := hosts.Quote(u.name)
	cmds := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH", "set -e"}
	if w.remove {
		cmds = append(cmds, "userdel -- "+n)
	}
	if w.create {
		args := []string{"useradd", "-m", "-s", hosts.Quote(w.shell)}
		if len(w.addGroups) > 0 {
			args = append(args, "-G", hosts.Quote(strings.Join(w.addGroups, ",")))
		}
		cmds = append(cmds, strings.Join(args, " ")+" -- "+n)
	} else {
		var args []string
		switch {
		case w.exclusive:
			args = append(args, "-G", hosts.Quote(strings.Join(w.setGroups, ",")))
		case len(w.addGroups) > 0:
			args = append(args, "-a", "-G", hosts.Quote(strings.Join(w.addGroups, ",")))
		}
		if w.shell != "" {
			args = append(args, "-s", hosts.Quote(w.shell))
		}
		if len(args) > 0 {
			cmds = append(cmds, "usermod "+strings.Join(args, " ")+" -- "+n)
		}
	}
	if w.sshDir { // always so for a new user with keys: its home is learnt here
		cmds = append(cmds,
			`h=$(getent passwd -- `+n+` | cut -d: -f6); g=$(id -gn -- `+n+`)`,
			`case $h in /*) ;; *) echo "user `+u.name+` has no absolute home directory ($h)" >&2; exit 1;; esac`,
			`install -d -m 0700 -o `+n+` -g "$g" -- "$h/.ssh"`,
			`printf 'home %s\ngroup %s\n' "$h" "$g"`)
	}
	if w.removeRule {
		cmds = append(cmds, "rm -f -- "+hosts.Quote(u.sudoersPath()))
	}
	if len(cmds) > 2 {
		res, err := h.Run(ctx, strings.Join(cmds, "\n"))
		if err != nil {
			return err
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("exit status %d: %s", res.ExitCode, tail(res.Stderr, res.Stdout))
		}
		for _, line := range strings.Split(string(res.Stdout), "\n") {
			if v, ok := strings.CutPrefix(line, "home "); ok {
				w.home = v
			} else if v, ok := strings.CutPrefix(line, "group "); ok {
				w.primary = v
			}
		}
	}
	if w.writeKeys {
		if w.home == "" || w.primary == "" {
			return fmt.Errorf("could not learn the home directory and group of user %s", u.name)
		}
		err := h.WriteFile(ctx, hosts.FileWrite{Path: path.Join(w.home, ".ssh", "authorized_keys"), Content: w.keys,
			Mode: os.FileMode(0o600), Owner: u.name, Group: w.primary})
		if err != nil {
			return err
		}
	}
	if w.writeRule {
		return h.WriteFile(ctx, hosts.FileWrite{Path: u.sudoersPath(), Content: u.sudoRule(),
			Mode: os.FileMode(0o440), Owner: "root", Group: "root", Validate: "visudo -cf %s"})
	}
	return nil
}
