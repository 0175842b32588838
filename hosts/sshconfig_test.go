package hosts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sshConfigFixture writes files into a temporary directory (with
// "{{dir}}" replaced by it) and points HOME there, so that no test reads
// the real ~/.ssh of this machine.
func sshConfigFixture(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "{{dir}}", dir)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The configs both readers must agree on; each case names the aliases to
// look up. They use Include, Match (host, originalhost, user, localuser,
// final, all, negation), Host negation, "=" and quotes.
var sshConfigCases = []struct {
	name    string
	files   map[string]string
	aliases []string
}{
	{"basic", map[string]string{"config": `
# a comment
Host mypi
  HostName 10.1.2.3
  Port 2222
  User pi
  IdentityFile {{dir}}/keys/pi_key
  IdentityFile "{{dir}}/keys/second key"
  IdentitiesOnly yes
  HashKnownHosts yes
  ConnectTimeout 7
  ServerAliveInterval 15
  UserKnownHostsFile {{dir}}/kh {{dir}}/kh2
  GlobalKnownHostsFile {{dir}}/global_kh
Host *
  User nobody
  Port 23
  IdentityFile {{dir}}/keys/catchall
`}, []string{"mypi", "other", "MyPi"}},
	{"include and match", map[string]string{
		"config": `
Include {{dir}}/conf.d/*.conf
Host mypi
  Include {{dir}}/only-mypi.conf
Match originalhost mypi user pi
  Port 2200
Match host 10.9.9.9
  ProxyJump bastion
Match !host 10.9.9.9 !originalhost bastion
  ProxyCommand nc %h %p
Host bastion
  HostName=10.0.0.1
  User=admin
`,
		"conf.d/10-pi.conf": `
Host mypi
  HostName 10.9.9.9
  User pi
`,
		"conf.d/20-later.conf": `
Host mypi
  User not-this-one
  Port 9999
`,
		"only-mypi.conf": `
IdentityFile {{dir}}/from-include
`}, []string{"mypi", "bastion", "elsewhere"}},
	{"final pass", map[string]string{"config": `
Host c
  HostName %h.example.com
Match final host c.example.com
  Port 4000
Match final all
  User late
Host d
  User early
`}, []string{"c", "d"}},
	{"localuser and negation", map[string]string{"config": `
Host * !skip
  ProxyJump j1,admin@j2:2022
Match localuser nobody-at-all
  User never
Match !localuser nobody-at-all
  IdentityFile {{dir}}/for-everyone
Host skip
  ProxyJump none
`}, []string{"x", "skip"}},
	{"the plan's user is in force while reading (ssh -l)", map[string]string{"config": `
Host box
  User alice
Match user bob
  Port 2022
Match user alice
  Port 2023
`}, []string{"box", "bob@box", "alice@box"}},
	{"proxy: the first wins", map[string]string{"config": `
Host cmdfirst
  ProxyCommand ssh -W %h:%p "gate way"
Host jumpfirst
  ProxyJump gate
Host *
  ProxyJump other
  ProxyCommand none
`}, []string{"cmdfirst", "jumpfirst", "neither"}},
}

func TestSSHConfigReadersAgree(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("OpenSSH's ssh is not installed: nothing to compare with")
	}
	for _, c := range sshConfigCases {
		t.Run(c.name, func(t *testing.T) {
			dir := sshConfigFixture(t, c.files)
			viaSSH := &SSHConfig{File: filepath.Join(dir, "config")}
			own := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: true}
			for _, alias := range c.aliases {
				user, host, ok := strings.Cut(alias, "@")
				if !ok {
					user, host = "", alias
				}
				a, err := viaSSH.Lookup(t.Context(), host, user)
				if err != nil {
					t.Fatalf("%s: ssh -G: %v", alias, err)
				}
				b, err := own.Lookup(t.Context(), host, user)
				if err != nil {
					t.Fatalf("%s: parser: %v", alias, err)
				}
				compareSettings(t, alias, a, b)
			}
		})
	}
}

func compareSettings(t *testing.T, alias string, ssh, own *SSHSettings) {
	t.Helper()
	check := func(what string, a, b any) {
		t.Helper()
		if !slices.Equal([]any{a}, []any{b}) {
			t.Errorf("%s: %s: ssh -G says %v, hako's parser %v", alias, what, a, b)
		}
	}
	check("hostname", ssh.HostName, own.HostName)
	check("user", ssh.User, own.User)
	check("port", ssh.Port, own.Port)
	check("proxyjump", ssh.ProxyJump, own.ProxyJump)
	check("proxycommand", ssh.ProxyCommand, own.ProxyCommand)
	check("identitiesonly", ssh.IdentitiesOnly, own.IdentitiesOnly)
	check("connecttimeout", ssh.ConnectTimeout, own.ConnectTimeout)
	check("serveraliveinterval", ssh.ServerAliveInterval, own.ServerAliveInterval)
	for _, k := range []string{"user", "port", "identityfile", "proxyjump", "userknownhostsfile", "globalknownhostsfile", "hashknownhosts", "identitiesonly"} {
		check("set "+k, ssh.Set[k], own.Set[k])
	}
	if ssh.Set["identityfile"] {
		check("identityfile", strings.Join(ssh.IdentityFiles, "|"), strings.Join(own.IdentityFiles, "|"))
	}
	check("ignored", strings.Join(ssh.Ignored, "|"), strings.Join(own.Ignored, "|"))
	check("globalknownhostsfile", strings.Join(ssh.GlobalKnownHostsFiles, "|"), strings.Join(own.GlobalKnownHostsFiles, "|"))
	check("hashknownhosts", ssh.HashKnownHosts, own.HashKnownHosts)
	if ssh.Set["userknownhostsfile"] {
		check("userknownhostsfile", strings.Join(ssh.KnownHostsFiles, "|"), strings.Join(own.KnownHostsFiles, "|"))
	}
}

// What the cases above must give, so that agreement is not agreement on
// nothing.
func TestSSHConfigParser(t *testing.T) {
	c := sshConfigCases[1]
	dir := sshConfigFixture(t, c.files)
	own := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: true}
	s, err := own.Lookup(t.Context(), "mypi", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.HostName != "10.9.9.9" || s.User != "pi" || s.Port != 9999 || s.ProxyJump != "bastion" || s.ProxyCommand != "" {
		t.Errorf("mypi: %+v", s)
	}
	if !slices.Equal(s.IdentityFiles, []string{dir + "/from-include"}) {
		t.Errorf("mypi identity files %q", s.IdentityFiles)
	}
	if !strings.Contains(s.Source, "10-pi.conf") || !strings.Contains(s.Source, "only-mypi.conf") {
		t.Errorf("source %q", s.Source)
	}
	s, _ = own.Lookup(t.Context(), "elsewhere", "")
	if s.ProxyCommand != "nc %h %p" || s.Set["identityfile"] || s.HostName != "elsewhere" {
		t.Errorf("elsewhere: %+v", s)
	}
	s, _ = own.Lookup(t.Context(), "bastion", "")
	if s.HostName != "10.0.0.1" || s.User != "admin" || s.ProxyCommand != "" {
		t.Errorf("bastion: %+v", s)
	}
}

func TestSSHConfigParserErrors(t *testing.T) {
	cases := map[string]string{
		"Host x\n  Port 22\nMatch exec \"true\"\n  User y\n": "config:3: `Match exec` needs OpenSSH's ssh client",
		"Host\n":                             "config:1: Host without a pattern",
		"Host x\n  User \"pi\n":              "config:2: unterminated quote",
		"Match tagged x\n":                   `config:1: Match criterion "tagged" is not supported`,
		"Host x\nUser\n":                     "config:2: User has no value",
		"Include {{dir}}/loop\n":             "Include nested too deep",
		"Match host\n":                       "config:1: Match host without a value",
		"Host x\n  IdentityFile %C/key\n":    "token %C", // at Resolve
		"Host x\n  IdentityFile ${NOPE}/k\n": "NOPE is not set",
	}
	for body, want := range cases {
		dir := sshConfigFixture(t, map[string]string{"config": body, "loop": "Include {{dir}}/loop\n"})
		own := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: true}
		_, _, err := own.Resolve(t.Context(), Config{Name: "h", Address: "x"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
	own := &SSHConfig{File: "/nonexistent/config", NoSSH: true}
	if _, err := own.Lookup(t.Context(), "x", ""); err == nil {
		t.Error("a missing -F file is no error")
	}
}

func TestSplitConfigLine(t *testing.T) {
	cases := map[string][]string{
		"  Host a b  # comment":    {"Host", "a", "b"},
		"HostName=1.2.3.4":         {"HostName", "1.2.3.4"},
		"Port = 22":                {"Port", "22"},
		`IdentityFile "/a b/c" /d`: {"IdentityFile", "/a b/c", "/d"},
		"# only a comment":         nil,
		"":                         nil,
		"\tUser\tpi":               {"User", "pi"},
		"LocalCommand echo a#b":    {"LocalCommand", "echo", "a#b"},
	}
	for in, want := range cases {
		got, err := splitConfigLine(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitConfigLine(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestResolve(t *testing.T) {
	for _, noSSH := range []bool{false, true} {
		if _, err := exec.LookPath("ssh"); err != nil && !noSSH {
			continue
		}
		dir := sshConfigFixture(t, map[string]string{"config": `
Host mypi
  HostName 10.1.2.3
  Port 2222
  User pi
  IdentityFile {{dir}}/pi_key
  UserKnownHostsFile {{dir}}/kh_from_config
  ProxyJump admin@bastion:2200
  ConnectTimeout 7
  StrictHostKeyChecking no
  ForwardAgent yes
Host bastion
  HostName 10.0.0.1
  ProxyJump outer
  IdentityFile {{dir}}/bastion_key
Host outer
  HostName 10.0.0.254
  UserKnownHostsFile {{dir}}/outer_kh
Host viacmd
  ProxyCommand nc -X connect %h %p # %r
Host loop
  ProxyJump loop
`})
		c := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: noSSH}
		ctx := t.Context()

		// ssh_config fills in what the plan leaves out.
		cfg, from, err := c.Resolve(ctx, Config{Name: "pi", Address: "mypi"})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Address != "10.1.2.3" || cfg.Port != 2222 || cfg.User != "pi" || cfg.ConnectTimeout != 7*time.Second ||
			!slices.Equal(cfg.IdentityFiles, []string{dir + "/pi_key"}) || cfg.KnownHostsFile != dir+"/kh_from_config" {
			t.Errorf("noSSH=%v: %+v", noSSH, cfg)
		}
		if len(cfg.Jumps) != 2 {
			t.Fatalf("noSSH=%v: jumps %+v", noSSH, cfg.Jumps)
		}
		outer, bastion := cfg.Jumps[0], cfg.Jumps[1]
		if outer.Address != "10.0.0.254" || outer.Port != 22 || outer.KnownHostsFile != dir+"/outer_kh" {
			t.Errorf("outer hop %+v", outer)
		}
		// The hop's user and port from the ProxyJump spec, its key first,
		// then the host's; its known_hosts is the host's.
		if bastion.Address != "10.0.0.1" || bastion.User != "admin" || bastion.Port != 2200 ||
			!slices.Equal(bastion.IdentityFiles, []string{dir + "/bastion_key", dir + "/pi_key"}) ||
			bastion.KnownHostsFile != dir+"/kh_from_config" || len(bastion.Jumps) != 0 {
			t.Errorf("bastion hop %+v", bastion)
		}
		var got []string
		for _, o := range from {
			got = append(got, o.Setting+"="+o.From)
		}
		for _, w := range []string{"user=ssh_config", "port=ssh_config", "stricthostkeychecking=ssh_config (hako checks host keys strictly",
			"forwardagent=ssh_config (not used by hako)"} {
			if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, w) }) {
				t.Errorf("noSSH=%v: origins %q lack %q", noSSH, got, w)
			}
		}

		// The plan's own settings win.
		cfg, _, err = c.Resolve(ctx, Config{Name: "pi", Address: "mypi", Port: 22, User: "alice",
			IdentityFiles: []string{"/plan/key"}, KnownHostsFile: "/plan/kh", ConnectTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Address != "10.1.2.3" || cfg.Port != 22 || cfg.User != "alice" || cfg.ConnectTimeout != time.Second ||
			!slices.Equal(cfg.IdentityFiles, []string{"/plan/key"}) || cfg.KnownHostsFile != "/plan/kh" {
			t.Errorf("plan did not win: %+v", cfg)
		}

		// Unknown to ssh_config: OpenSSH's defaults (keys that exist under $HOME).
		if err := os.MkdirAll(filepath.Join(dir, ".ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".ssh", "id_ed25519"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err = c.Resolve(ctx, Config{Name: "w", Address: "192.0.2.9"})
		if err != nil {
			t.Fatal(err)
		}
		me, _ := localUser()
		if cfg.Address != "192.0.2.9" || cfg.Port != 22 || cfg.User != me || cfg.KnownHostsFile != "~/.ssh/known_hosts" ||
			!slices.Equal(cfg.KnownHostsFiles, []string{"~/.ssh/known_hosts2"}) ||
			!slices.Equal(cfg.GlobalKnownHostsFiles, []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}) ||
			!slices.Equal(cfg.IdentityFiles, []string{"~/.ssh/id_ed25519"}) || len(cfg.Jumps) != 0 {
			t.Errorf("defaults: %+v", cfg)
		}

		cfg, _, err = c.Resolve(ctx, Config{Name: "v", Address: "viacmd", User: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ProxyCommand != "nc -X connect viacmd 22 # bob" {
			t.Errorf("noSSH=%v: ProxyCommand %q", noSSH, cfg.ProxyCommand)
		}

		// OpenSSH itself refuses a host that is its own jump host; the
		// parser stops at the chain's length.
		if _, _, err := c.Resolve(ctx, Config{Name: "l", Address: "loop"}); err == nil ||
			!strings.Contains(err.Error(), "more than 8 jump hosts") && !strings.Contains(err.Error(), "jumphost loop via loop") {
			t.Errorf("loop: %v", err)
		}
	}
}

// Without -F, and with $HOME not the account's home (as in these tests),
// only $HOME/.ssh/config is read: never the account's own.
func TestSSHConfigDefaultFiles(t *testing.T) {
	dir := sshConfigFixture(t, map[string]string{".ssh/config": "Host mypi\n  Port 2022\n"})
	if accountHome() == dir {
		t.Skip("HOME is the account's home")
	}
	files, sshDefault := (&SSHConfig{}).configFiles()
	if sshDefault || !slices.Equal(files, []string{dir + "/.ssh/config"}) {
		t.Errorf("files %q, ssh default %v", files, sshDefault)
	}
	for _, noSSH := range []bool{false, true} {
		s, err := (&SSHConfig{NoSSH: noSSH}).Lookup(context.Background(), "mypi", "")
		if err != nil {
			t.Fatal(err)
		}
		if s.Port != 2022 {
			t.Errorf("noSSH=%v: port %d from %s", noSSH, s.Port, s.Source)
		}
	}
	t.Setenv("HOME", t.TempDir()) // no config at all: defaults
	for _, noSSH := range []bool{false, true} {
		s, err := (&SSHConfig{NoSSH: noSSH}).Lookup(context.Background(), "mypi", "")
		if err != nil {
			t.Fatal(err)
		}
		if s.Port != 22 || len(s.Set) != 0 {
			t.Errorf("noSSH=%v: %+v", noSSH, s)
		}
	}
}

// `Match user` sees the plan's user, as with `ssh -l USER`: the block for
// that user applies, and the config's User does not replace it.
func TestLookupWithPlanUser(t *testing.T) {
	dir := sshConfigFixture(t, map[string]string{"config": sshConfigCases[4].files["config"]})
	for _, noSSH := range []bool{false, true} {
		if _, err := exec.LookPath("ssh"); err != nil && !noSSH {
			continue
		}
		c := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: noSSH}
		cfg, _, err := c.Resolve(t.Context(), Config{Name: "b", Address: "box", User: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.User != "bob" || cfg.Port != 2022 {
			t.Errorf("noSSH=%v: %s@%d, want bob@2022", noSSH, cfg.User, cfg.Port)
		}
		cfg, _, _ = c.Resolve(t.Context(), Config{Name: "b", Address: "box"})
		if cfg.User != "alice" || cfg.Port != 2023 {
			t.Errorf("noSSH=%v: %s@%d, want alice@2023", noSSH, cfg.User, cfg.Port)
		}
	}
}

// IdentityAgent and CertificateFile reach the connection settings, read
// as OpenSSH reads them.
func TestResolveAgentAndCertificates(t *testing.T) {
	for _, noSSH := range []bool{false, true} {
		if _, err := exec.LookPath("ssh"); err != nil && !noSSH {
			continue
		}
		dir := sshConfigFixture(t, map[string]string{"config": `
Host a
  HostName 10.0.0.7
  IdentityAgent {{dir}}/agent.%h
  CertificateFile {{dir}}/%r-cert.pub
  CertificateFile {{dir}}/second-cert.pub
Host b
  IdentityAgent $HAKO_TEST_AGENT
Host c
  IdentityAgent SSH_AUTH_SOCK
Host d
  IdentityAgent none
`})
		c := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: noSSH}
		resolve := func(alias string) (Config, []Origin) {
			t.Helper()
			cfg, from, err := c.Resolve(t.Context(), Config{Name: alias, Address: alias, User: "pi"})
			if err != nil {
				t.Fatal(err)
			}
			return cfg, from
		}
		cfg, from := resolve("a")
		if cfg.IdentityAgent != dir+"/agent.10.0.0.7" ||
			!slices.Equal(cfg.CertificateFiles, []string{dir + "/pi-cert.pub", dir + "/second-cert.pub"}) {
			t.Errorf("noSSH=%v: IdentityAgent %q, CertificateFiles %q", noSSH, cfg.IdentityAgent, cfg.CertificateFiles)
		}
		for _, o := range from {
			if strings.Contains(o.From, "not used") && (o.Setting == "identityagent" || o.Setting == "certificatefile") {
				t.Errorf("noSSH=%v: %s is said to be unused", noSSH, o.Setting)
			}
		}
		t.Setenv("HAKO_TEST_AGENT", "/run/agent.sock")
		if cfg, _ := resolve("b"); cfg.IdentityAgent != "/run/agent.sock" {
			t.Errorf("noSSH=%v: $HAKO_TEST_AGENT: %q", noSSH, cfg.IdentityAgent)
		}
		os.Unsetenv("HAKO_TEST_AGENT")
		c.cache = nil
		if cfg, _ := resolve("b"); cfg.IdentityAgent != "none" {
			t.Errorf("noSSH=%v: unset $HAKO_TEST_AGENT: %q, want none", noSSH, cfg.IdentityAgent)
		}
		if cfg, _ := resolve("c"); cfg.IdentityAgent != "" {
			t.Errorf("noSSH=%v: SSH_AUTH_SOCK: %q, want \"\"", noSSH, cfg.IdentityAgent)
		}
		if cfg, _ := resolve("d"); cfg.IdentityAgent != "none" {
			t.Errorf("noSSH=%v: none: %q", noSSH, cfg.IdentityAgent)
		}
	}
}

// With no user given, the login name is the local account's name; on
// Windows without the "DOMAIN\" Go puts before it, as Windows' OpenSSH
// logs in.
func TestLoginName(t *testing.T) {
	cases := []struct{ username, goos, want string }{
		{`DESKTOP-1A2B\alice`, "windows", "alice"},
		{`CORP\bob.smith`, "windows", "bob.smith"},
		{"carol", "windows", "carol"},
		{"dave", "linux", "dave"},
		{`odd\name`, "linux", `odd\name`}, // only Windows names carry a domain
		{"erin", "darwin", "erin"},
	}
	for _, c := range cases {
		if got := loginName(c.username, c.goos); got != c.want {
			t.Errorf("loginName(%q, %s) = %q, want %q", c.username, c.goos, got, c.want)
		}
	}
}

// -v names every setting the config makes that hako does not use, not only
// the well-known ones; ServerAliveCountMax applies on its own.
func TestResolveUnusedAndCountMax(t *testing.T) {
	for _, noSSH := range []bool{false, true} {
		if _, err := exec.LookPath("ssh"); err != nil && !noSSH {
			continue
		}
		dir := sshConfigFixture(t, map[string]string{"config": `
Host box
  AddressFamily inet
  Compression yes
  ServerAliveCountMax 5
  UserKnownHostsFile {{dir}}/kh
`})
		c := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: noSSH}
		cfg, from, err := c.Resolve(t.Context(), Config{Name: "b", Address: "box"})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ServerAliveCountMax != 5 {
			t.Errorf("noSSH=%v: ServerAliveCountMax %d, want 5", noSSH, cfg.ServerAliveCountMax)
		}
		var unused []string
		for _, o := range from {
			if strings.Contains(o.From, "not used by hako") {
				unused = append(unused, o.Setting+" "+o.Value)
			}
		}
		if !slices.Equal(unused, []string{"addressfamily inet", "compression yes"}) {
			t.Errorf("noSSH=%v: not used: %q", noSSH, unused)
		}
	}
}

// "none" is no file: GlobalKnownHostsFile none reads no global file, and
// UserKnownHostsFile none (OpenSSH then knows no host) is refused, saying
// what to do, rather than taken as a file named "none".
func TestKnownHostsFileNone(t *testing.T) {
	for _, noSSH := range []bool{false, true} {
		if _, err := exec.LookPath("ssh"); err != nil && !noSSH {
			continue
		}
		dir := sshConfigFixture(t, map[string]string{"config": "Host g\n  GlobalKnownHostsFile none\nHost u\n  UserKnownHostsFile none\n"})
		c := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: noSSH}
		cfg, _, err := c.Resolve(t.Context(), Config{Name: "g", Address: "g"})
		if err != nil || len(cfg.GlobalKnownHostsFiles) != 0 {
			t.Errorf("noSSH=%v: GlobalKnownHostsFile none: %q, %v", noSSH, cfg.GlobalKnownHostsFiles, err)
		}
		_, _, err = c.Resolve(t.Context(), Config{Name: "u", Address: "u"})
		if err == nil || !strings.Contains(err.Error(), "UserKnownHostsFile none") || !strings.Contains(err.Error(), "set known_hosts in the host block") {
			t.Errorf("noSSH=%v: UserKnownHostsFile none: %v", noSSH, err)
		}
		if cfg, _, err := c.Resolve(t.Context(), Config{Name: "u", Address: "u", KnownHostsFile: "/plan/kh"}); err != nil || cfg.KnownHostsFile != "/plan/kh" {
			t.Errorf("noSSH=%v: the plan's known_hosts: %q, %v", noSSH, cfg.KnownHostsFile, err)
		}
	}
}
