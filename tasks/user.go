package tasks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
)

// User manages a local account: that it exists (or not), its supplementary
// groups, its login shell, the keys in its ~/.ssh/authorized_keys and a
// passwordless sudo rule in /etc/sudoers.d/hako-NAME.
//
// Everything Check needs comes from its probes (the account, the login and
// the sudo rule, see user_probe.go); Apply converges with
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
		NewPlanned:     func() any { return new(UserPlan) },
	})
}

// userName is Debian's default NAME_REGEX (adduser.conf), with useradd's
// 32-character limit. It has no dot on purpose: sudo skips files in
// /etc/sudoers.d whose names contain one, so hako-john.doe would be ignored.
var userName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

var groupName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)

func decodeUser(a *attrs.Attrs) Task {
	u := &User{addr: Address{a.Kind, a.Name}, present: true, exclusiveGroups: a.Bool("exclusive_groups", false),
		exclusiveKeys: a.Bool("exclusive_keys", false), keysSensitive: a.Sensitive("authorized_keys")}
	if v, ok := a.Value("name", cty.String); ok {
		u.name = v.AsString()
		if !userName.MatchString(u.name) {
			a.AttrErrorf("name", "Invalid user name", "%q is not a user name: use lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters.", u.name)
		}
	}
	seen := map[string]bool{}
	for _, g := range a.Strings("groups") {
		if !groupName.MatchString(g) {
			a.AttrErrorf("groups", "Invalid group name", "%q is not a group name.", g)
			continue
		}
		if !seen[g] {
			seen[g] = true
			u.groups = append(u.groups, g)
		}
	}
	if a.Has("shell") {
		u.shell = a.String("shell")
		if u.shell != "" && (!path.IsAbs(u.shell) || strings.ContainsAny(u.shell, ": ") || attrs.HasControl(u.shell)) {
			a.AttrErrorf("shell", "Invalid shell", "shell must be an absolute path without spaces or colons, such as \"/bin/bash\", got %q.", u.shell)
		}
	}
	u.keys = decodeKeys(a, u.keysSensitive)
	switch u.sudo = a.String("sudo"); u.sudo {
	case "", "nopasswd", "none":
	default:
		a.AttrErrorf("sudo", "Invalid sudo", `sudo must be "nopasswd" (a passwordless rule in /etc/sudoers.d) or "none" (no such rule), got %q.`, u.sudo)
	}
	switch s := a.String("state"); s {
	case "", "present":
	case "absent":
		u.present = false
		for _, n := range []string{"groups", "exclusive_groups", "shell", "authorized_keys", "exclusive_keys", "sudo"} {
			if a.Has(n) {
				a.AttrErrorf(n, "Attribute of an absent user", `%s has no meaning with state = "absent": the user is removed (and its sudo rule in /etc/sudoers.d with it).`, n)
			}
		}
	default:
		a.AttrErrorf("state", "Invalid state", `state must be "present" or "absent", got %q.`, s)
	}
	return u
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

// WrittenPaths: the sudo rule, when the task manages it (a removed user's
// rule goes with it). authorized_keys is not listed: it lives in the
// user's home, a folder root does not own, where a rollback acting as
// root by path is refused.
func (u *User) WrittenPaths() []string {
	if u.sudo != "" || !u.present {
		return []string{u.sudoersPath()}
	}
	return nil
}

// Cuts: sudo when the task manages the user's sudo rule; SSH when it
// manages the keys (or the existence) of a user hako logs in as.
func (u *User) Cuts(env Env) Cuts {
	var c Cuts
	if u.sudo != "" || !u.present {
		c |= CutsSudo
	}
	if (len(u.keys) > 0 || u.exclusiveKeys || !u.present) && slices.Contains(env.LoginUsers, u.name) {
		c |= CutsSSH
	}
	return c
}

func (u *User) sudoRule() []byte {
	return []byte(u.name + " ALL=(ALL) NOPASSWD: ALL\n")
}

// UserPlan is a user task's planned change: what Apply does, worked out
// by Check.
type UserPlan struct {
	Create    bool     `json:"create,omitempty"`     // useradd
	AddGroups []string `json:"add_groups,omitempty"` // usermod -a -G (or useradd -G)
	SetGroups []string `json:"set_groups,omitempty"` // usermod -G (exclusive_groups)
	Exclusive bool     `json:"exclusive,omitempty"`  // SetGroups applies
	Shell     string   `json:"shell,omitempty"`      // useradd/usermod -s; "" unchanged
	SSHDir    bool     `json:"ssh_dir,omitempty"`    // make ~/.ssh (or fix its mode and owner)
	// Keys is the new authorized_keys; nil: not written. It is never
	// written out as JSON: it holds the lines of the host's file, which
	// only its user may read, and the plan's keys, which may be sensitive.
	Keys       []byte `json:"-"`
	WriteKeys  bool   `json:"write_keys,omitempty"`
	WriteRule  bool   `json:"write_rule,omitempty"`
	RemoveRule bool   `json:"remove_rule,omitempty"`
	Remove     bool   `json:"remove,omitempty"` // userdel
	// Home and Primary (group) are the existing user's; Apply learns
	// those of a new user.
	Home    string `json:"home,omitempty"`
	Primary string `json:"primary_group,omitempty"`
}

func (u *User) Check(s *State, env Env) (*Change, error) {
	f := u.facts(s)
	if f.uid != 0 {
		return nil, fmt.Errorf("managing users needs root, but the probe ran as uid %d: set become = true on the host", f.uid)
	}
	if !u.present {
		return u.checkAbsent(s, f)
	}
	w := &UserPlan{Home: f.home, Primary: f.primary}
	c := &Change{Address: u.addr, Summary: "user " + u.name, Planned: w}
	if !f.exists {
		w.Create = true
		w.AddGroups = u.groups
		w.Shell = u.shell
		if w.Shell == "" {
			w.Shell = defaultShell
		}
		c.Action, c.Summary = Create, "create user "+u.name
		if len(u.groups) > 0 {
			c.Attrs = append(c.Attrs, AttrChange{"groups", "", strings.Join(u.groups, ", ")})
		}
		c.Attrs = append(c.Attrs, AttrChange{"shell", "", w.Shell})
		if len(u.keys) > 0 {
			w.SSHDir, w.WriteKeys = true, true
			for _, k := range u.keys {
				w.Keys = append(w.Keys, k.line+"\n"...)
				c.Attrs = append(c.Attrs, AttrChange{"authorized key", "", k.show})
			}
		}
	} else {
		c.Attrs = append(c.Attrs, u.checkGroups(f, w)...)
		if u.shell != "" && u.shell != f.shell {
			w.Shell = u.shell
			c.Attrs = append(c.Attrs, AttrChange{"shell", f.shell, u.shell})
		}
		attrs, err := u.checkKeys(f, w)
		if err != nil {
			return nil, err
		}
		c.Attrs = append(c.Attrs, attrs...)
	}
	// A user hako logs in as (the host's user, one a bootstrap session
	// makes for it) needs a shell that runs commands.
	if w.Shell != "" && slices.Contains(env.LoginUsers, u.name) && noLoginShell(w.Shell) {
		c.Refusals = append(c.Refusals, &Refusal{Check: CheckLoginUserShell, Reason: fmt.Sprintf(
			"%s would give %q, whom hako logs in as, the shell %s: sshd runs every command through it, so hako could log in but run nothing; keep a shell that runs commands (/bin/bash, /bin/sh)",
			u.addr, u.name, w.Shell)})
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
func (u *User) checkGroups(f *userFacts, w *UserPlan) []AttrChange {
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
			w.AddGroups = append(w.AddGroups, g)
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
	if len(w.AddGroups) == 0 && !extra {
		return nil
	}
	after = append(after, w.AddGroups...)
	if u.exclusiveGroups {
		w.Exclusive = true
		w.SetGroups = u.groups
		w.AddGroups = nil
	}
	return []AttrChange{{"groups", strings.Join(have, ", "), strings.Join(after, ", ")}}
}

// checkSudo compares /etc/sudoers.d/hako-NAME with the rule, mode 0440
// and owner root.
func (u *User) checkSudo(f *userFacts, w *UserPlan) (*AttrChange, error) {
	if u.sudo == "" {
		return nil, nil
	}
	if f.sudo.exists && f.sudo.typ != "regular file" {
		return nil, fmt.Errorf("%s exists and is a %s, not a regular file", u.sudoersPath(), f.sudo.typ)
	}
	before := u.sudoBefore(f)
	switch {
	case u.sudo == "nopasswd" && before != "nopasswd":
		w.WriteRule = true
		return &AttrChange{"sudo", before, "nopasswd"}, nil
	case u.sudo == "none" && f.sudo.exists:
		w.RemoveRule = true
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
	var refusals []*Refusal
	switch {
	case u.name == f.login:
		refusals = append(refusals, &Refusal{Check: CheckLoginUserSudo, Reason: fmt.Sprintf("%s would remove the user %q, whom hako is logged in as on this host: the SSH connection and become depend on it; log in as another user to remove it", u.addr, u.name)})
	case u.name == "root":
		return nil, &Refusal{Reason: fmt.Sprintf("%s would remove the user root", u.addr)}
	}
	w := &UserPlan{}
	c := &Change{Address: u.addr, Summary: "user " + u.name + " (absent)", Refusals: refusals, Planned: w}
	if f.exists {
		w.Remove = true
		c.Attrs = append(c.Attrs, AttrChange{"user", "present", "absent"})
	}
	if f.sudo.exists {
		w.RemoveRule = true
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

// Apply runs one command for the account and removals, which also says
// where the home is (unknown before a new user exists); then makes ~/.ssh
// and writes authorized_keys, as the user when the home is theirs (see
// hosts.FileWrite), and the sudo rule, atomically.
func (u *User) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	w := c.Planned.(*UserPlan)
	// Apply learns a new user's home and group; the plan stays as Check
	// made it.
	home, primary := w.Home, w.Primary
	n := hosts.Quote(u.name)
	cmds := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH", "set -e"}
	if w.Remove {
		cmds = append(cmds, "userdel -- "+n)
	}
	if w.Create {
		args := []string{"useradd", "-m", "-s", hosts.Quote(w.Shell)}
		if len(w.AddGroups) > 0 {
			args = append(args, "-G", hosts.Quote(strings.Join(w.AddGroups, ",")))
		}
		cmds = append(cmds, strings.Join(args, " ")+" -- "+n)
	} else {
		var args []string
		switch {
		case w.Exclusive:
			args = append(args, "-G", hosts.Quote(strings.Join(w.SetGroups, ",")))
		case len(w.AddGroups) > 0:
			args = append(args, "-a", "-G", hosts.Quote(strings.Join(w.AddGroups, ",")))
		}
		if w.Shell != "" {
			args = append(args, "-s", hosts.Quote(w.Shell))
		}
		if len(args) > 0 {
			cmds = append(cmds, "usermod "+strings.Join(args, " ")+" -- "+n)
		}
	}
	if w.SSHDir { // always so for a new user with keys: its home is learnt here
		cmds = append(cmds,
			`h=$(getent passwd -- `+n+` | cut -d: -f6); g=$(id -gn -- `+n+`)`,
			`printf 'home %s\ngroup %s\n' "$h" "$g"`)
	}
	if w.RemoveRule {
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
				home = v
			} else if v, ok := strings.CutPrefix(line, "group "); ok {
				primary = v
			}
		}
	}
	if w.SSHDir || w.WriteKeys {
		if !path.IsAbs(home) || primary == "" {
			return fmt.Errorf("could not learn the home directory and group of user %s (home %q)", u.name, home)
		}
	}
	if w.SSHDir {
		// Not `install -d -o` as root: the home is the user's, who could
		// swap ~/.ssh for a link to /etc first. The host makes it as the
		// user (or refuses a home others could change).
		err := h.MakeDir(ctx, hosts.Dir{Path: path.Join(home, ".ssh"), Mode: 0o700, SetMode: true, Owner: u.name, Group: primary})
		if err != nil {
			return err
		}
	}
	if w.WriteKeys {
		err := h.WriteFile(ctx, hosts.FileWrite{Path: path.Join(home, ".ssh", "authorized_keys"), Content: w.Keys,
			Mode: os.FileMode(0o600), Owner: u.name, Group: primary})
		if err != nil {
			return err
		}
	}
	if w.WriteRule {
		return h.WriteFile(ctx, hosts.FileWrite{Path: u.sudoersPath(), Content: u.sudoRule(),
			Mode: os.FileMode(0o440), Owner: "root", Group: "root", Validate: "visudo -cf %s"})
	}
	return nil
}

// noLoginShell: a shell that refuses to run commands (nologin, false):
// sshd still lets the user in, and runs hako's every command through it.
func noLoginShell(shell string) bool {
	switch path.Base(shell) {
	case "nologin", "false":
		return true
	}
	return false
}
