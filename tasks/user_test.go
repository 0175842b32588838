package tasks

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
)

// userKey makes a fresh ed25519 public key line with comment.
func userKey(t *testing.T, comment string) (line string, pub ssh.PublicKey) {
	t.Helper()
	raw, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err = ssh.NewPublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		line += " " + comment
	}
	return line, pub
}

// userDecode decodes a user task and returns its diagnostics.
func userDecode(values map[string]cty.Value) (*User, hcl.Diagnostics) {
	a := &attrs.Attrs{Kind: "user", Name: "admin", Items: map[string]attrs.Attr{}}
	for n, v := range values {
		a.Items[n] = attrs.Attr{Value: v}
	}
	k, _ := LookupKind("user")
	u := k.Decode(a).(*User)
	return u, a.Diags
}

func userTask(t *testing.T, attrs map[string]cty.Value) *User {
	t.Helper()
	u, diags := userDecode(attrs)
	if diags.HasErrors() {
		t.Fatalf("decode: %v", diags)
	}
	return u
}

// userProbe is what the user task's probes answer: who probes (root,
// logged in as pi), the account, and hako's sudoers file and rule.
type userProbe struct {
	uid  int
	acct probe.AccountInfo
	sudo FileInfo
	rule []byte
}

// state answers u's probes from p.
func (p userProbe) state(t *testing.T, u *User) *State {
	t.Helper()
	content := Content{}
	if p.rule != nil {
		content = Content{Readable: true, Data: p.rule}
	}
	a, err := probe.NewFake().Set(probe.Login{}, probe.LoginInfo{UID: p.uid, Name: "pi"}).
		Set(probe.Account{Name: u.name}, p.acct).
		Set(probe.Stat{Path: u.sudoersPath()}, p.sudo).Set(probe.File{Path: u.sudoersPath()}, content).
		Answer(u.Probes())
	if err != nil {
		t.Fatal(err)
	}
	return NewState(a)
}

// noUser: the user does not exist, nor its sudo rule.
func noUser() userProbe { return userProbe{} }

// account is a user with no ~/.ssh and no sudo rule; groups are all
// its groups, the primary one first.
func account(name, home, shell string, groups ...string) userProbe {
	return userProbe{acct: probe.AccountInfo{Name: name, Exists: true, Home: home, Shell: shell, Groups: groups, Primary: groups[0]}}
}

// meta is a stat answer.
func meta(mode int, owner, group, typ string) FileInfo {
	return FileInfo{Exists: true, Mode: mode, User: owner, Group: group, Type: typ}
}

// aliceExists is alice with primary group alice, in groups, with the
// given authorized_keys content (nil: no file) and sudo rule (nil: none).
func aliceExists(groups string, keys, rule []byte) userProbe {
	p := account("alice", "/home/alice", "/bin/bash", append([]string{"alice"}, strings.Fields(groups)...)...)
	p.acct.SSHDir = meta(0o700, "alice", "alice", "directory")
	if keys != nil {
		p.acct.KeyFile = meta(0o600, "alice", "alice", "regular file")
		p.acct.Keys, p.acct.KeysRead = keys, true
	}
	if rule != nil {
		p.sudo, p.rule = meta(0o440, "root", "root", "regular file"), rule
	}
	return p
}

var aliceRule = []byte("alice ALL=(ALL) NOPASSWD: ALL\n")

func userCheck(t *testing.T, u *User, answer userProbe) *Change {
	t.Helper()
	c, err := u.Check(answer.state(t, u), Env{})
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return c
}

func wantAttrs(t *testing.T, c *Change, want ...AttrChange) {
	t.Helper()
	if len(c.Attrs) != len(want) {
		t.Fatalf("attrs %+v, want %+v", c.Attrs, want)
	}
	for i := range want {
		if c.Attrs[i] != want[i] {
			t.Errorf("attr %d: %+v, want %+v", i, c.Attrs[i], want[i])
		}
	}
}

func TestUserDecodeErrors(t *testing.T) {
	line, _ := userKey(t, "me@laptop")
	for _, tc := range []struct {
		name  string
		attrs map[string]cty.Value
		want  string
	}{
		{"bad name", map[string]cty.Value{"name": str("Alice Smith")}, `"Alice Smith" is not a user name`},
		{"dotted name", map[string]cty.Value{"name": str("john.doe")}, "is not a user name"},
		{"empty name", map[string]cty.Value{"name": str("")}, "is not a user name"},
		{"bad sudo", map[string]cty.Value{"name": str("alice"), "sudo": str("yes")}, `sudo must be "nopasswd"`},
		{"bad state", map[string]cty.Value{"name": str("alice"), "state": str("gone")}, "state must be"},
		{"bad group", map[string]cty.Value{"name": str("alice"), "groups": names("sudo", "a b")}, `"a b" is not a group name`},
		{"bad shell", map[string]cty.Value{"name": str("alice"), "shell": str("bash")}, "shell must be an absolute path"},
		{"bad key", map[string]cty.Value{"name": str("alice"), "authorized_keys": names(line, "ssh-ed25519 AAAAnot-base64 x")},
			"authorized_keys element 2, key line 1, is not an OpenSSH public key line"},
		{"private key", map[string]cty.Value{"name": str("alice"), "authorized_keys": names("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")},
			"looks like a private key"},
		{"no key", map[string]cty.Value{"name": str("alice"), "authorized_keys": names("# just a comment\n")}, "holds no key"},
		{"absent with keys", map[string]cty.Value{"name": str("alice"), "state": str("absent"), "authorized_keys": names(line)},
			`authorized_keys has no meaning with state = "absent"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := userDecode(tc.attrs)
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
				t.Errorf("diags %v, want %q", diags, tc.want)
			}
			if strings.Contains(diags.Error(), "b3BlbnNzaC1rZXktdjEAAAAA") {
				t.Errorf("a diagnostic quotes the key material: %v", diags)
			}
		})
	}
}

func TestUserDecodeKeys(t *testing.T) {
	l1, p1 := userKey(t, "one")
	l2, p2 := userKey(t, "")
	// A .pub file's trailing newline, a whole authorized_keys file with a
	// comment and options, and a duplicate.
	u := userTask(t, map[string]cty.Value{"name": str("alice"),
		"authorized_keys": names(l1+"\n", "# mine\n"+`from="10.0.0.0/8" `+l2+"\n\n"+l1+"\n")})
	got := u.AuthorizedKeys()
	if len(got) != 2 || keyID(got[0]) != keyID(p1) || keyID(got[1]) != keyID(p2) {
		t.Fatalf("keys %v", got)
	}
	if u.keys[1].line != `from="10.0.0.0/8" `+l2 {
		t.Errorf("line %q", u.keys[1].line)
	}
	if managed, grants := u.GrantsSudo(); managed || grants {
		t.Error("sudo is not managed")
	}
	u = userTask(t, map[string]cty.Value{"name": str("alice"), "sudo": str("nopasswd")})
	if managed, grants := u.GrantsSudo(); !managed || !grants || u.Name() != "alice" {
		t.Error("sudo nopasswd")
	}
	u = userTask(t, map[string]cty.Value{"name": str("alice"), "sudo": str("none")})
	if managed, grants := u.GrantsSudo(); !managed || grants {
		t.Error("sudo none")
	}
}

func TestUserCheckNewUser(t *testing.T) {
	line, pub := userKey(t, "alice@laptop")
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "groups": names("sudo", "adm"),
		"authorized_keys": names(line), "sudo": str("nopasswd")})
	c := userCheck(t, u, noUser())
	if c.Action != Create || c.Summary != "create user alice" {
		t.Errorf("change %+v", c)
	}
	wantAttrs(t, c,
		AttrChange{"groups", "", "sudo, adm"},
		AttrChange{"shell", "", "/bin/bash"},
		AttrChange{"authorized key", "", "ssh-ed25519 " + ssh.FingerprintSHA256(pub) + " alice@laptop"},
		AttrChange{"sudo", "none", "nopasswd"})
	if strings.Contains(c.Attrs[2].After, "AAAA") {
		t.Errorf("the plan shows the key's base64: %q", c.Attrs[2].After)
	}
}

func TestUserCheckUpToDate(t *testing.T) {
	line, _ := userKey(t, "alice@laptop")
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "groups": names("sudo"), "shell": str("/bin/bash"),
		"authorized_keys": names(line), "exclusive_keys": cty.True, "sudo": str("nopasswd")})
	// The host's line has another comment and no final newline; there are
	// comments and blank lines: all the same key.
	fields := strings.Fields(line)
	host := "# keys\n\n" + fields[0] + " " + fields[1] + " other-comment"
	if c := userCheck(t, u, aliceExists("adm sudo", []byte(host), aliceRule)); c.Changed() {
		t.Errorf("up to date, yet %+v", c)
	}
}

// Options are security (from=, restrict): the same key with other options
// on the host is replaced by the plan's line.
func TestUserCheckKeyOptions(t *testing.T) {
	line, _ := userKey(t, "alice@laptop")
	u := userTask(t, map[string]cty.Value{"name": str("alice"),
		"authorized_keys": names(`from="192.168.0.0/24",restrict ` + line)})
	c := userCheck(t, u, aliceExists("adm sudo", []byte(line+"\n"), aliceRule))
	if !c.Changed() || len(c.Attrs) != 1 || c.Attrs[0].Name != "authorized key options" ||
		!strings.HasSuffix(c.Attrs[0].Before, "(none)") || !strings.Contains(c.Attrs[0].After, `from="192.168.0.0/24",restrict`) {
		t.Errorf("change %+v", c)
	}
}

// Sensitive keys: an option may carry the secret (command="... --token"),
// so the options change is shown without them.
func TestUserCheckSensitiveKeyOptions(t *testing.T) {
	line, _ := userKey(t, "alice@laptop")
	u := userTask(t, map[string]cty.Value{"name": str("alice"),
		"authorized_keys": names(`command="/usr/local/bin/backup --token hunter2" ` + line).Mark(sensitiveMark{})})
	c := userCheck(t, u, aliceExists("adm sudo", []byte(`command="/usr/local/bin/backup --token old-hunter1" `+line+"\n"), aliceRule))
	if !c.Changed() || len(c.Attrs) != 1 || c.Attrs[0].Name != "authorized key options" {
		t.Fatalf("change %+v", c)
	}
	if a := c.Attrs[0]; strings.Contains(a.Before+a.After+c.Summary, "hunter") {
		t.Errorf("the key options are shown: %+v", c)
	}
}

func TestUserCheckMissingGroup(t *testing.T) {
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "groups": names("sudo", "alice", "adm")})
	c := userCheck(t, u, aliceExists("adm dialout", nil, nil))
	if c.Action != Update || c.Summary != "update user alice" {
		t.Errorf("change %+v", c)
	}
	// The primary group counts as one the user is in.
	wantAttrs(t, c, AttrChange{"groups", "adm, dialout", "adm, dialout, sudo"})
	w := c.Planned.(*UserPlan)
	if strings.Join(w.AddGroups, ",") != "sudo" || w.Exclusive || w.WriteKeys || w.WriteRule || w.RemoveRule {
		t.Errorf("work %+v", w)
	}
}

func TestUserCheckExclusiveGroups(t *testing.T) {
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "groups": names("sudo"), "exclusive_groups": cty.True})
	c := userCheck(t, u, aliceExists("adm sudo dialout", nil, nil))
	wantAttrs(t, c, AttrChange{"groups", "adm, sudo, dialout", "sudo"})
	if w := c.Planned.(*UserPlan); !w.Exclusive || strings.Join(w.SetGroups, ",") != "sudo" {
		t.Errorf("work %+v", w)
	}
	if c := userCheck(t, u, aliceExists("sudo", nil, nil)); c.Changed() {
		t.Errorf("up to date, yet %+v", c)
	}
}

func TestUserCheckShell(t *testing.T) {
	u := userTask(t, map[string]cty.Value{"name": str("alice")})
	if c := userCheck(t, u, account("alice", "/home/alice", "/bin/sh", "alice")); c.Changed() {
		t.Errorf("shell is not managed for an existing user, yet %+v", c)
	}
	u = userTask(t, map[string]cty.Value{"name": str("alice"), "shell": str("/usr/bin/zsh")})
	c := userCheck(t, u, aliceExists("", nil, nil))
	wantAttrs(t, c, AttrChange{"shell", "/bin/bash", "/usr/bin/zsh"})
}

func TestUserCheckMissingKey(t *testing.T) {
	l1, _ := userKey(t, "old")
	l2, p2 := userKey(t, "new")
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "authorized_keys": names(l1, l2)})
	c := userCheck(t, u, aliceExists("", []byte(l1), nil)) // no final newline
	wantAttrs(t, c, AttrChange{"authorized key", "", "ssh-ed25519 " + ssh.FingerprintSHA256(p2) + " new"})
	w := c.Planned.(*UserPlan)
	if !w.WriteKeys || string(w.Keys) != l1+"\n"+l2+"\n" || w.SSHDir {
		t.Errorf("work %+v keys %q", w, w.Keys)
	}

	// No file, no ~/.ssh.
	c = userCheck(t, u, account("alice", "/home/alice", "/bin/bash", "alice"))
	if len(c.Attrs) != 2 {
		t.Errorf("attrs %+v", c.Attrs)
	}
	if w := c.Planned.(*UserPlan); !w.WriteKeys || !w.SSHDir || string(w.Keys) != l1+"\n"+l2+"\n" {
		t.Errorf("work %+v", w)
	}
}

func TestUserCheckExtraKeyExclusive(t *testing.T) {
	mine, _ := userKey(t, "mine")
	other, otherPub := userKey(t, "intruder")
	host := "# keys\n" + other + "\n" + mine + "\nnot a key at all, but long\n"

	u := userTask(t, map[string]cty.Value{"name": str("alice"), "authorized_keys": names(mine)})
	if c := userCheck(t, u, aliceExists("", []byte(host), nil)); c.Changed() {
		t.Errorf("without exclusive_keys other lines stay, yet %+v", c)
	}

	u = userTask(t, map[string]cty.Value{"name": str("alice"), "authorized_keys": names(mine), "exclusive_keys": cty.True})
	c := userCheck(t, u, aliceExists("", []byte(host), nil))
	wantAttrs(t, c,
		AttrChange{"authorized key", "ssh-ed25519 " + ssh.FingerprintSHA256(otherPub) + " intruder", ""},
		AttrChange{"authorized key", `unrecognised line "not a key at all, but lo…"`, ""})
	if w := c.Planned.(*UserPlan); string(w.Keys) != "# keys\n"+mine+"\n" {
		t.Errorf("new content %q", w.Keys)
	}

	// exclusive_keys with no keys empties the file, and leaves a missing one missing.
	u = userTask(t, map[string]cty.Value{"name": str("alice"), "exclusive_keys": cty.True})
	c = userCheck(t, u, aliceExists("", []byte(mine+"\n"), nil))
	if w := c.Planned.(*UserPlan); len(c.Attrs) != 1 || !w.WriteKeys || len(w.Keys) != 0 {
		t.Errorf("change %+v work %+v", c, w)
	}
	if c := userCheck(t, u, aliceExists("", nil, nil)); c.Changed() {
		t.Errorf("no file, no keys wanted, yet %+v", c)
	}
}

func TestUserCheckKeyFilePermissions(t *testing.T) {
	line, _ := userKey(t, "")
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "authorized_keys": names(line)})
	ans := account("alice", "/home/alice", "/bin/bash", "alice")
	ans.acct.SSHDir, ans.acct.KeyFile = meta(0o777, "alice", "alice", "directory"), meta(0o644, "root", "root", "regular file")
	ans.acct.Keys, ans.acct.KeysRead = []byte(line+"\n"), true
	c := userCheck(t, u, ans)
	wantAttrs(t, c, AttrChange{"~/.ssh", "0777 alice", "0700 alice"}, AttrChange{"~/.ssh/authorized_keys", "0644 root", "0600 alice"})
	if w := c.Planned.(*UserPlan); !w.SSHDir || !w.WriteKeys || string(w.Keys) != line+"\n" {
		t.Errorf("work %+v", w)
	}
	ans.acct.KeyFile = meta(0o777, "root", "root", "symbolic link")
	ans.acct.Keys, ans.acct.KeysRead = nil, false
	if _, err := u.Check(ans.state(t, u), Env{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlinked authorized_keys: %v", err)
	}
}

func TestUserCheckSudo(t *testing.T) {
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "sudo": str("nopasswd")})
	c := userCheck(t, u, aliceExists("", nil, nil))
	wantAttrs(t, c, AttrChange{"sudo", "none", "nopasswd"})
	if w := c.Planned.(*UserPlan); !w.WriteRule || w.WriteKeys {
		t.Errorf("work %+v", w)
	}
	c = userCheck(t, u, aliceExists("", nil, []byte("alice ALL=(ALL) ALL\n")))
	wantAttrs(t, c, AttrChange{"sudo", "other rules in /etc/sudoers.d/hako-alice", "nopasswd"})
	ans := aliceExists("", nil, aliceRule)
	ans.sudo = meta(0o644, "pi", "pi", "regular file")
	wantAttrs(t, userCheck(t, u, ans), AttrChange{"sudo", "nopasswd (0644 pi)", "nopasswd"})

	none := userTask(t, map[string]cty.Value{"name": str("alice"), "sudo": str("none")})
	c = userCheck(t, none, aliceExists("", nil, aliceRule))
	wantAttrs(t, c, AttrChange{"sudo", "nopasswd", "none"})
	if w := c.Planned.(*UserPlan); !w.RemoveRule {
		t.Errorf("work %+v", w)
	}
	if c := userCheck(t, none, aliceExists("", nil, nil)); c.Changed() {
		t.Errorf("no rule, yet %+v", c)
	}
}

func TestUserCheckNeedsRoot(t *testing.T) {
	u := userTask(t, map[string]cty.Value{"name": str("alice")})
	_, err := u.Check(userProbe{uid: 1000}.state(t, u), Env{})
	if err == nil || !strings.Contains(err.Error(), "set become = true") {
		t.Errorf("err %v", err)
	}
}

func TestUserAbsent(t *testing.T) {
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "state": str("absent")})
	c := userCheck(t, u, aliceExists("sudo", nil, aliceRule))
	if c.Action != Delete || c.Summary != "remove user alice (its home /home/alice is kept)" {
		t.Errorf("change %+v", c)
	}
	wantAttrs(t, c, AttrChange{"user", "present", "absent"}, AttrChange{"sudo", "nopasswd", "none"})
	if c := userCheck(t, u, noUser()); c.Changed() {
		t.Errorf("already absent, yet %+v", c)
	}

	for _, name := range []string{"pi", "root"} {
		u := userTask(t, map[string]cty.Value{"name": str(name), "state": str("absent")})
		c, err := u.Check(account("pi", "/home/pi", "/bin/bash", "pi", "sudo").state(t, u), Env{})
		rs := RefusalsOf(c, err)
		if len(rs) != 1 || !strings.Contains(rs[0].Error(), `would remove the user "`+name+`"`) &&
			!strings.Contains(rs[0].Error(), "would remove the user root") {
			t.Errorf("%s: refusals %v", name, rs)
		}
	}
}

// Removing the login user is refused under the check login-user-sudo,
// which -allow-risky overrides: the change carries the refusal and is the
// removal to carry out if overridden. Removing root is never allowed: it
// is the task's error, with no check to name.
func TestUserAbsentLoginUserOverride(t *testing.T) {
	answer := account("pi", "/home/pi", "/bin/bash", "pi", "sudo")
	u := userTask(t, map[string]cty.Value{"name": str("pi"), "state": str("absent")})
	c, err := u.Check(answer.state(t, u), Env{})
	if err != nil || c.Action != Delete || len(c.Refusals) != 1 || c.Refusals[0].Check != CheckLoginUserSudo ||
		!strings.Contains(c.Refusals[0].Error(), "-allow-risky login-user-sudo") {
		t.Errorf("login user: %v %+v", err, c)
	}
	root := userTask(t, map[string]cty.Value{"name": str("root"), "state": str("absent")})
	var r *Refusal
	if _, err := root.Check(answer.state(t, root), Env{}); !errors.As(err, &r) || r.Check != "" || strings.Contains(err.Error(), "allow-risky") {
		t.Errorf("root: %v", err)
	}
}

// userHost records what Apply does.
type userHost struct {
	mu     sync.Mutex
	cmds   []string
	writes []hosts.FileWrite
	dirs   []hosts.Dir
	stdout string
}

func (h *userHost) Name() string { return "fake" }
func (h *userHost) Close() error { return nil }
func (h *userHost) Run(_ context.Context, cmd string) (hosts.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, cmd)
	return hosts.Result{Stdout: []byte(h.stdout)}, nil
}
func (h *userHost) WriteFile(_ context.Context, w hosts.FileWrite) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes = append(h.writes, w)
	return nil
}

func (h *userHost) MakeDir(_ context.Context, d hosts.Dir) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dirs = append(h.dirs, d)
	return nil
}

func TestUserApplyNewUser(t *testing.T) {
	line, _ := userKey(t, "alice@laptop")
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "groups": names("sudo", "adm"),
		"authorized_keys": names(line), "sudo": str("nopasswd")})
	c := userCheck(t, u, noUser())
	h := &userHost{stdout: "home /srv/alice\ngroup staff\n"}
	if err := u.Apply(context.Background(), h, c); err != nil {
		t.Fatal(err)
	}
	if len(h.cmds) != 1 {
		t.Fatalf("commands %q", h.cmds)
	}
	if want := "useradd -m -s '/bin/bash' -G 'sudo,adm' -- 'alice'"; !strings.Contains(h.cmds[0], want) {
		t.Errorf("command lacks %q:\n%s", want, h.cmds[0])
	}
	// ~/.ssh is the host's to make safely (as the user), not root's by path.
	if strings.Contains(h.cmds[0], ".ssh") {
		t.Errorf("the command touches ~/.ssh as root:\n%s", h.cmds[0])
	}
	if want := (hosts.Dir{Path: "/srv/alice/.ssh", Mode: 0o700, SetMode: true, Owner: "alice", Group: "staff"}); len(h.dirs) != 1 || h.dirs[0] != want {
		t.Errorf("dirs %+v, want %+v", h.dirs, want)
	}
	if len(h.writes) != 2 {
		t.Fatalf("writes %+v", h.writes)
	}
	k, s := h.writes[0], h.writes[1]
	if k.Path != "/srv/alice/.ssh/authorized_keys" || string(k.Content) != line+"\n" || k.Mode != 0o600 || k.Owner != "alice" || k.Group != "staff" {
		t.Errorf("authorized_keys write %+v", k)
	}
	if s.Path != "/etc/sudoers.d/hako-alice" || string(s.Content) != string(aliceRule) || s.Mode != 0o440 ||
		s.Owner != "root" || s.Validate != "visudo -cf %s" {
		t.Errorf("sudoers write %+v", s)
	}
}

func TestUserApplyExistingUser(t *testing.T) {
	line, _ := userKey(t, "")
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "groups": names("sudo"), "shell": str("/bin/zsh"),
		"authorized_keys": names(line), "sudo": str("none")})
	ans := aliceExists("adm", []byte(""), aliceRule)
	c := userCheck(t, u, ans)
	h := &userHost{}
	if err := u.Apply(context.Background(), h, c); err != nil {
		t.Fatal(err)
	}
	if len(h.cmds) != 1 || !strings.Contains(h.cmds[0], "usermod -a -G 'sudo' -s '/bin/zsh' -- 'alice'") ||
		!strings.Contains(h.cmds[0], "rm -f -- '/etc/sudoers.d/hako-alice'") || strings.Contains(h.cmds[0], ".ssh") || len(h.dirs) != 0 {
		t.Errorf("commands %q, dirs %+v", h.cmds, h.dirs)
	}
	if len(h.writes) != 1 || h.writes[0].Path != "/home/alice/.ssh/authorized_keys" || h.writes[0].Group != "alice" {
		t.Errorf("writes %+v", h.writes)
	}

	// Only the sudo rule: no command at all.
	u = userTask(t, map[string]cty.Value{"name": str("alice"), "sudo": str("nopasswd")})
	c = userCheck(t, u, aliceExists("", nil, nil))
	h = &userHost{}
	if err := u.Apply(context.Background(), h, c); err != nil || len(h.cmds) != 0 || len(h.writes) != 1 {
		t.Errorf("err %v, commands %q, writes %+v", err, h.cmds, h.writes)
	}
}

func TestUserApplyAbsent(t *testing.T) {
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "state": str("absent")})
	c := userCheck(t, u, aliceExists("", nil, aliceRule))
	h := &userHost{}
	if err := u.Apply(context.Background(), h, c); err != nil {
		t.Fatal(err)
	}
	if len(h.cmds) != 1 || !strings.Contains(h.cmds[0], "userdel -- 'alice'\nrm -f -- '/etc/sudoers.d/hako-alice'") || len(h.writes) != 0 {
		t.Errorf("commands %q writes %+v", h.cmds, h.writes)
	}
}

// The probe is read-only, so it can run on this machine: for root (who
// exists everywhere) and for a user nobody has.
func TestUserProbeOnThisMachine(t *testing.T) {
	for _, name := range []string{"root", "hako-no-such-user"} {
		u := userTask(t, map[string]cty.Value{"name": str(name)})
		st, err := Gather(context.Background(), local(), u.Probes())
		if err != nil {
			t.Fatal(err)
		}
		f := u.facts(st)
		if f.uid < 0 || f.login == "" || f.sudo.exists {
			t.Errorf("%s: facts %+v", name, f)
		}
		if name == "root" && (!f.exists || f.home != "/root" || f.primary != "root" || len(f.groups) == 0 || f.groups[0] != "root") {
			t.Errorf("root: facts %+v", f)
		}
		if name != "root" && f.exists {
			t.Errorf("%s exists: %+v", name, f)
		}
	}
}

// authorized_keys that its user cannot read (the probe reads it as the
// user, as sshd does) is an error that says what to do, not an empty file.
func TestUserKeysUnreadableByUser(t *testing.T) {
	line, _ := userKey(t, "")
	u := userTask(t, map[string]cty.Value{"name": str("alice"), "authorized_keys": names(line)})
	ans := account("alice", "/home/alice", "/bin/bash", "alice")
	ans.acct.SSHDir, ans.acct.KeyFile = meta(0o700, "alice", "alice", "directory"), meta(0o600, "root", "root", "regular file")
	ans.acct.KeysUnreadable = true
	_, err := u.Check(ans.state(t, u), Env{})
	if err == nil || !strings.Contains(err.Error(), "/home/alice/.ssh/authorized_keys is not readable by alice") {
		t.Errorf("err %v", err)
	}
}

// A shell that runs no command (nologin, false) for a user hako logs in
// as is refused (login-user-shell): sshd lets the user in and runs every
// command of hako's through that shell. For another user, or a shell that
// runs commands, it is no refusal.
func TestUserCheckLoginUserShell(t *testing.T) {
	for _, c := range []struct {
		shell  string
		logins []string
		refuse bool
	}{
		{"/usr/sbin/nologin", []string{"alice"}, true},
		{"/bin/false", []string{"pi", "alice"}, true}, // alice: the bootstrap user while connected as it
		{"/usr/sbin/nologin", []string{"pi"}, false},
		{"/usr/bin/zsh", []string{"alice"}, false},
	} {
		u := userTask(t, map[string]cty.Value{"name": str("alice"), "shell": str(c.shell)})
		for _, answer := range []userProbe{aliceExists("", nil, nil), noUser()} {
			ch, err := u.Check(answer.state(t, u), Env{LoginUsers: c.logins})
			if err != nil {
				t.Fatal(err)
			}
			rs := RefusalsOf(ch, nil)
			switch {
			case c.refuse && (len(rs) != 1 || rs[0].Check != CheckLoginUserShell || !strings.Contains(rs[0].Reason, c.shell)):
				t.Errorf("%s for %v: refusals %v", c.shell, c.logins, rs)
			case !c.refuse && len(rs) > 0:
				t.Errorf("%s for %v: refused %v", c.shell, c.logins, rs)
			}
		}
	}
}
