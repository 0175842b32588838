package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SSHConfig reads the OpenSSH client configuration (ssh_config) the way
// the user's own `ssh` does. Where OpenSSH's client is installed it asks
// it (`ssh -G`), so that Include, Match (exec, user, final, ...) and every
// quirk are resolved by OpenSSH itself; elsewhere hako reads the files with
// its own parser (sshconfig_parse.go), which knows Host, Match (but not
// `exec`) and Include.
//
// The zero value reads the default files. Safe for concurrent use.
type SSHConfig struct {
	// File is the one config file to read (`-F FILE`); "" means the
	// defaults: ~/.ssh/config, then /etc/ssh/ssh_config. When $HOME is not
	// the account's home directory (as in tests), only $HOME/.ssh/config
	// is read, so that a run never mixes two users' settings.
	File string
	// SSH is OpenSSH's client; "" looks `ssh` up in PATH. NoSSH uses
	// hako's own parser even where ssh is installed.
	SSH   string
	NoSSH bool

	mu    sync.Mutex
	cache map[string]*sshLookup
}

type sshLookup struct {
	s   *SSHSettings
	err error
}

// SSHSettings are the effective ssh_config settings for one host alias.
// Only what Set names was written in a config file; the rest are
// OpenSSH's defaults or empty.
type SSHSettings struct {
	Alias                 string
	HostName              string
	Port                  int
	User                  string
	IdentityFiles         []string // raw: "~" and %-tokens not yet expanded
	IdentitiesOnly        bool
	CertificateFiles      []string // raw, like IdentityFiles
	IdentityAgent         string   // as written: a socket, "none", "SSH_AUTH_SOCK" or "$NAME"
	ProxyJump             string   // "" or "none": no jump host
	ProxyCommand          string   // raw, with %-tokens
	KnownHostsFiles       []string // UserKnownHostsFile, raw
	GlobalKnownHostsFiles []string // GlobalKnownHostsFile (or its default), raw
	StrictHostKeyChecking string
	HashKnownHosts        bool
	ConnectTimeout        time.Duration
	ServerAliveInterval   time.Duration
	ServerAliveCountMax   int
	// Set holds the lower-case keywords a config file set.
	Set map[string]bool
	// Ignored lists settings the config sets that hako does not use, as
	// "keyword value", for -v.
	Ignored []string
	// Source says how the settings were read, for -v and errors.
	Source string
}

// keywordsUsed are the ssh_config keywords hako applies. Any other that a
// config sets is reported by -v as not used, so that nobody believes a
// setting is in force when it is not.
var keywordsUsed = []string{"hostname", "port", "user", "identityfile", "identitiesonly", "certificatefile",
	"identityagent", "proxyjump",
	"proxycommand", "userknownhostsfile", "globalknownhostsfile", "stricthostkeychecking", "hashknownhosts", "connecttimeout",
	"serveraliveinterval", "serveralivecountmax"}

// ignored lists the keywords set (as "keyword value") that hako does not
// use, in alphabetical order.
func ignored(set map[string]bool, vals map[string][]string) []string {
	var out []string
	for k := range set {
		// ssh -G turns UpdateHostKeys off by itself where known_hosts
		// files are configured; off is what hako does in any case (it
		// never takes further keys from a host).
		if v := strings.Join(vals[k], " "); k == "updatehostkeys" && (v == "false" || strings.EqualFold(v, "no")) {
			continue
		}
		if !slices.Contains(keywordsUsed, k) {
			out = append(out, k+" "+strings.Join(vals[k], " "))
		}
	}
	slices.Sort(out)
	return out
}

// Lookup returns the settings for alias (the plan's address). user, when
// not "", is the user the plan names: like `ssh -l USER`, it is in force
// while the files are read, so `Match user` blocks see it.
func (c *SSHConfig) Lookup(ctx context.Context, alias, user string) (*SSHSettings, error) {
	key := alias + "\x00" + user
	c.mu.Lock()
	if r, ok := c.cache[key]; ok {
		c.mu.Unlock()
		return r.s, r.err
	}
	c.mu.Unlock()
	s, err := c.lookup(ctx, alias, user)
	c.mu.Lock()
	if c.cache == nil {
		c.cache = map[string]*sshLookup{}
	}
	c.cache[key] = &sshLookup{s, err}
	c.mu.Unlock()
	return s, err
}

func (c *SSHConfig) lookup(ctx context.Context, alias, user string) (*SSHSettings, error) {
	if !c.NoSSH {
		bin := c.SSH
		if bin == "" {
			bin, _ = exec.LookPath("ssh")
		}
		if bin != "" {
			return c.viaSSH(ctx, bin, alias, user)
		}
	}
	return c.viaParser(alias, user)
}

// configFiles are the files read without -F, and whether they are
// OpenSSH's own default choice.
func (c *SSHConfig) configFiles() (files []string, sshDefault bool) {
	if c.File != "" {
		return []string{c.File}, false
	}
	home, pw := os.Getenv("HOME"), accountHome()
	if home == "" || pw == "" || sameDir(home, pw) {
		return []string{filepath.Join(pw, ".ssh", "config"), "/etc/ssh/ssh_config"}, true
	}
	return []string{filepath.Join(home, ".ssh", "config")}, false
}

func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// accountHome is the home directory of the account hako runs as, from the
// password database: OpenSSH expands "~" in ssh_config against it, not
// against $HOME.
func accountHome() string {
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	h, _ := os.UserHomeDir()
	return h
}

// localUser is the account's name, OpenSSH's default remote user.
func localUser() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	return loginName(u.Username, runtime.GOOS), nil
}

// loginName is the login name OpenSSH derives from the local account name
// on goos. On Windows, Go names the account "DOMAIN\user" (the machine's
// name for a local account); Windows' OpenSSH logs in as the user name
// alone, and no Linux host has a user with a backslash in its name.
func loginName(username, goos string) string {
	if goos == "windows" {
		if i := strings.LastIndexByte(username, '\\'); i >= 0 {
			return username[i+1:]
		}
	}
	return username
}

// sshGTimeout bounds one `ssh -G`: it contacts no host, but a `Match exec`
// runs a command of the user's.
const sshGTimeout = 20 * time.Second

func (c *SSHConfig) viaSSH(ctx context.Context, bin, alias, user string) (*SSHSettings, error) {
	files, sshDefault := c.configFiles()
	args := []string{"-G"}
	if user != "" {
		args = append(args, "-l", user)
	}
	source := "ssh -G " + alias
	if !sshDefault {
		f := files[0]
		if _, err := os.Stat(f); err != nil && c.File == "" {
			f = os.DevNull // no config of this $HOME: only OpenSSH's defaults
		} else if err != nil {
			return nil, fmt.Errorf("ssh_config %s: %w", f, err)
		}
		args = append(args, "-F", f)
		source = "ssh -G -F " + f + " " + alias
	}
	defArgs := []string{"-G", "-F", os.DevNull}
	if user != "" {
		defArgs = append(defArgs, "-l", user)
	}
	// OpenSSH's defaults for the same alias and user, to tell what the
	// configuration sets: a second ssh -G, run beside the first (each
	// takes a few tens of milliseconds of a connection's start).
	type answer struct {
		m   map[string][]string
		err error
	}
	defc := make(chan answer, 1)
	go func() {
		m, err := runSSHG(ctx, bin, append(defArgs, alias))
		defc <- answer{m, err}
	}()
	got, err := runSSHG(ctx, bin, append(args, alias))
	d := <-defc
	if err != nil {
		return nil, err
	}
	def, err := d.m, d.err
	if err != nil {
		return nil, err
	}
	s := &SSHSettings{Alias: alias, Set: map[string]bool{}, Source: source}
	for k, v := range got {
		if !slices.Equal(v, def[k]) {
			s.Set[k] = true
		}
	}
	first := func(k string) string {
		if v := got[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	s.HostName = first("hostname")
	s.User = first("user")
	if p, err := strconv.Atoi(first("port")); err == nil {
		s.Port = p
	}
	s.IdentityFiles = got["identityfile"]
	s.IdentitiesOnly = first("identitiesonly") == "yes"
	s.CertificateFiles = got["certificatefile"]
	s.IdentityAgent = first("identityagent")
	s.ProxyJump = first("proxyjump")
	if pc := first("proxycommand"); pc != "none" {
		s.ProxyCommand = pc
	}
	s.KnownHostsFiles = strings.Fields(first("userknownhostsfile"))
	s.GlobalKnownHostsFiles = strings.Fields(first("globalknownhostsfile"))
	s.StrictHostKeyChecking = first("stricthostkeychecking")
	s.HashKnownHosts = first("hashknownhosts") == "yes"
	s.ConnectTimeout = seconds(first("connecttimeout"))
	s.ServerAliveInterval = seconds(first("serveraliveinterval"))
	s.ServerAliveCountMax, _ = strconv.Atoi(first("serveralivecountmax"))
	s.Ignored = ignored(s.Set, got)
	return s, nil
}

// runSSHG runs `ssh -G ...` and returns its lines as keyword -> values
// (a keyword printed on several lines, like identityfile, has several).
func runSSHG(ctx context.Context, bin string, args []string) (map[string][]string, error) {
	ctx, cancel := context.WithTimeout(ctx, sshGTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s %s: %s", bin, strings.Join(args, " "), msg)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		if k != "" {
			m[k] = append(m[k], v)
		}
	}
	if len(m["hostname"]) == 0 {
		return nil, fmt.Errorf("%s %s printed no hostname: %q", bin, strings.Join(args, " "), strings.TrimSpace(errb.String()))
	}
	return m, nil
}

// seconds reads a number of seconds; 0 (the default) for anything else,
// or for more than ssh takes (maxTimeSeconds).
func seconds(s string) time.Duration {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > maxTimeSeconds {
		return 0
	}
	return time.Duration(n) * time.Second
}

// Origin says where one connection setting came from, for -v.
type Origin struct {
	Setting string // "hostname", "port", ...
	Value   string
	From    string // "plan", "ssh_config", "default", ...
}

// defaultIdentityFiles are the keys OpenSSH tries when none is configured,
// in its order (those x/crypto cannot use, like the -sk ones, are left out).
var defaultIdentityFiles = []string{"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519", "~/.ssh/id_dsa"}

// maxJumps bounds a ProxyJump chain, which ssh_config may make cyclic.
const maxJumps = 8

// Resolve fills in what the plan left out of cfg from ssh_config, then
// OpenSSH's defaults, as `ssh` with cfg's settings given as -o options
// would: the plan's own settings always win. cfg.Address is looked up as
// an ssh_config host alias and replaced by its HostName. A nil SSHConfig
// reads no file and only applies the defaults.
func (c *SSHConfig) Resolve(ctx context.Context, cfg Config) (Config, []Origin, error) {
	return c.resolve(ctx, cfg, 0)
}

func (c *SSHConfig) resolve(ctx context.Context, cfg Config, depth int) (Config, []Origin, error) {
	s := &SSHSettings{Alias: cfg.Address, HostName: cfg.Address, Set: map[string]bool{}}
	if c != nil {
		var err error
		if s, err = c.Lookup(ctx, cfg.Address, cfg.User); err != nil {
			return cfg, nil, err
		}
	}
	var from []Origin
	note := func(setting, value, origin string) { from = append(from, Origin{setting, value, origin}) }
	pick := func(setting string, planSet bool) string {
		switch {
		case planSet:
			return "plan"
		case s.Set[setting]:
			return "ssh_config"
		}
		return "default"
	}
	alias := cfg.Address
	if s.Set["hostname"] && s.HostName != "" {
		cfg.Address = s.HostName
		note("hostname", cfg.Address, "ssh_config (Host "+alias+")")
	} else {
		note("hostname", cfg.Address, "plan")
	}

	o := pick("user", cfg.User != "")
	switch {
	case cfg.User != "":
	case s.Set["user"] && s.User != "":
		cfg.User = s.User
	default:
		u, err := localUser()
		if err != nil {
			return cfg, nil, fmt.Errorf("no user given and the local user is unknown: %w", err)
		}
		cfg.User = u
	}
	note("user", cfg.User, o)

	o = pick("port", cfg.Port != 0)
	switch {
	case cfg.Port != 0:
	case s.Set["port"] && s.Port != 0:
		cfg.Port = s.Port
	default:
		cfg.Port = defaultPort
	}
	note("port", strconv.Itoa(cfg.Port), o)

	tok := tokens{alias: alias, host: cfg.Address, port: cfg.Port, user: cfg.User}
	switch {
	case len(cfg.IdentityFiles) > 0:
		note("identityfile", strings.Join(cfg.IdentityFiles, " "), "plan")
	case s.Set["identityfile"]:
		files, err := tok.expandAll(s.IdentityFiles, "identityfile")
		if err != nil {
			return cfg, nil, err
		}
		cfg.IdentityFiles = files
		note("identityfile", strings.Join(cfg.IdentityFiles, " "), "ssh_config")
	case c != nil:
		// OpenSSH's default keys, under $HOME like hako's other defaults;
		// only those that exist, so that a failed login lists what was
		// really offered.
		for _, f := range defaultIdentityFiles {
			if _, err := os.Stat(ExpandHome(f)); err == nil {
				cfg.IdentityFiles = append(cfg.IdentityFiles, f)
			}
		}
		note("identityfile", strings.Join(cfg.IdentityFiles, " "), "default (those of "+strings.Join(defaultIdentityFiles, " ")+" that exist)")
	}
	if s.Set["identitiesonly"] {
		cfg.IdentitiesOnly = s.IdentitiesOnly
		note("identitiesonly", map[bool]string{true: "yes", false: "no"}[s.IdentitiesOnly], "ssh_config")
	}
	if len(cfg.CertificateFiles) == 0 && s.Set["certificatefile"] {
		files, err := tok.expandAll(s.CertificateFiles, "certificatefile")
		if err != nil {
			return cfg, nil, err
		}
		cfg.CertificateFiles = files
		note("certificatefile", strings.Join(cfg.CertificateFiles, " "), "ssh_config")
	}
	if cfg.IdentityAgent == "" && s.Set["identityagent"] && s.IdentityAgent != "" {
		a, err := identityAgent(s.IdentityAgent, tok)
		if err != nil {
			return cfg, nil, err
		}
		cfg.IdentityAgent = a
		v := a
		if a == "" {
			v = "$SSH_AUTH_SOCK"
		}
		note("identityagent", v, "ssh_config")
	}

	// All the files are read, as by OpenSSH; new keys go to the first.
	// The plan's known_hosts is the only user file, as with
	// `ssh -o UserKnownHostsFile=FILE`; the global files are read all the
	// same.
	switch {
	case cfg.KnownHostsFile != "":
		note("userknownhostsfile", strings.Join(append([]string{cfg.KnownHostsFile}, cfg.KnownHostsFiles...), " "), "plan")
	case s.Set["userknownhostsfile"] && len(s.KnownHostsFiles) > 0:
		if strings.EqualFold(s.KnownHostsFiles[0], "none") {
			// OpenSSH then knows no host; hako needs a file to check
			// keys against and record them in.
			return cfg, nil, fmt.Errorf("ssh_config sets UserKnownHostsFile none for %s: hako checks host keys in a known_hosts file; set known_hosts in the host block", alias)
		}
		files, err := tok.expandAll(s.KnownHostsFiles, "userknownhostsfile")
		if err != nil {
			return cfg, nil, err
		}
		cfg.KnownHostsFile, cfg.KnownHostsFiles = files[0], files[1:]
		v := files[0]
		if len(files) > 1 {
			v = strings.Join(files, " ") + " (new keys are recorded in the first)"
		}
		note("userknownhostsfile", v, "ssh_config")
	case c != nil:
		// OpenSSH's default, under $HOME like hako's other defaults.
		cfg.KnownHostsFile, cfg.KnownHostsFiles = "~/.ssh/known_hosts", []string{"~/.ssh/known_hosts2"}
		note("userknownhostsfile", "~/.ssh/known_hosts ~/.ssh/known_hosts2 (new keys are recorded in the first)", "default")
	default:
		cfg.KnownHostsFile = "~/.ssh/known_hosts"
		note("userknownhostsfile", cfg.KnownHostsFile, "default")
	}
	if len(cfg.GlobalKnownHostsFiles) == 0 && len(s.GlobalKnownHostsFiles) > 0 && !strings.EqualFold(s.GlobalKnownHostsFiles[0], "none") {
		files, err := tok.expandAll(s.GlobalKnownHostsFiles, "globalknownhostsfile")
		if err != nil {
			return cfg, nil, err
		}
		cfg.GlobalKnownHostsFiles = files
		note("globalknownhostsfile", strings.Join(cfg.GlobalKnownHostsFiles, " ")+" (read only, those that exist)",
			pick("globalknownhostsfile", false))
	}
	if s.Set["stricthostkeychecking"] {
		note("stricthostkeychecking", s.StrictHostKeyChecking,
			"ssh_config (hako checks host keys strictly all the same; only -accept-new-host-keys records new ones)")
	}
	// No plan attribute sets it: -hash-known-hosts is applied at dial
	// time on top of this (either one hashes).
	if !cfg.HashKnownHosts && s.Set["hashknownhosts"] {
		cfg.HashKnownHosts = s.HashKnownHosts
		note("hashknownhosts", map[bool]string{true: "yes", false: "no"}[s.HashKnownHosts], "ssh_config")
	}
	if cfg.ConnectTimeout == 0 && s.Set["connecttimeout"] && s.ConnectTimeout > 0 {
		cfg.ConnectTimeout = s.ConnectTimeout
		note("connecttimeout", s.ConnectTimeout.String(), "ssh_config")
	}
	if cfg.ServerAliveInterval == 0 && s.Set["serveraliveinterval"] && s.ServerAliveInterval > 0 {
		cfg.ServerAliveInterval = s.ServerAliveInterval
		note("serveraliveinterval", s.ServerAliveInterval.String(), "ssh_config")
	}
	if cfg.ServerAliveCountMax == 0 && s.Set["serveralivecountmax"] && s.ServerAliveCountMax > 0 {
		cfg.ServerAliveCountMax = s.ServerAliveCountMax
		note("serveralivecountmax", strconv.Itoa(s.ServerAliveCountMax), "ssh_config")
	}

	if len(cfg.Jumps) == 0 && cfg.ProxyCommand == "" {
		hops, err := ParseProxyJump(s.ProxyJump)
		if err != nil {
			return cfg, nil, err
		}
		switch {
		case len(hops) > 0:
			for _, hop := range hops {
				jc, err := c.resolveHop(ctx, cfg, hop, depth)
				if err != nil {
					return cfg, nil, err
				}
				cfg.Jumps = append(cfg.Jumps, jc...)
			}
			note("proxyjump", s.ProxyJump, "ssh_config")
		case s.ProxyCommand != "":
			pc, err := tok.expand(s.ProxyCommand, "proxycommand")
			if err != nil {
				return cfg, nil, err
			}
			cfg.ProxyCommand = pc
			note("proxycommand", pc, "ssh_config")
		}
	}
	for _, ig := range s.Ignored {
		k, v, _ := strings.Cut(ig, " ")
		note(k, v, "ssh_config (not used by hako)")
	}
	if s.Source != "" {
		note("read", s.Source, "")
	}
	return cfg, from, nil
}

// resolveHop is one ProxyJump hop as its own connection: the hop is an
// ssh_config alias with its own settings (its own ProxyJump too, which
// comes first). What the hop's config leaves out comes from the host being
// reached: its known_hosts file (each hop's key is checked strictly in it)
// and its identity files are offered after the hop's own.
func (c *SSHConfig) resolveHop(ctx context.Context, target Config, hop JumpHop, depth int) ([]Config, error) {
	if depth >= maxJumps {
		return nil, fmt.Errorf("ProxyJump: more than %d jump hosts (a loop in ssh_config?)", maxJumps)
	}
	hc := Config{Name: hop.Host, Address: hop.Host, User: hop.User, Port: hop.Port,
		ConnectTimeout: target.ConnectTimeout, AcceptNewHostKeys: target.AcceptNewHostKeys}
	r, _, err := c.resolve(ctx, hc, depth+1)
	if err != nil {
		return nil, fmt.Errorf("jump host %q: %w", hop.Host, err)
	}
	s := &SSHSettings{Set: map[string]bool{}}
	if c != nil {
		s, _ = c.Lookup(ctx, hop.Host, hop.User) // cached: resolve succeeded
	}
	if !s.Set["userknownhostsfile"] {
		r.KnownHostsFile, r.KnownHostsFiles = target.KnownHostsFile, target.KnownHostsFiles
	}
	for _, f := range target.IdentityFiles {
		if !slices.Contains(r.IdentityFiles, f) {
			r.IdentityFiles = append(r.IdentityFiles, f)
		}
	}
	chain := r.Jumps
	r.Jumps = nil
	return append(chain, r), nil
}

// identityAgent reads ssh_config's IdentityAgent as OpenSSH does:
// "SSH_AUTH_SOCK" is the default agent (""), "none" is none, "$NAME" is
// the socket named by that environment variable (none when it is unset),
// anything else a socket path with "~", ${NAME} and %-tokens expanded.
func identityAgent(v string, tok tokens) (string, error) {
	switch {
	case v == "SSH_AUTH_SOCK":
		return "", nil
	case v == "none":
		return "none", nil
	case strings.HasPrefix(v, "$") && !strings.HasPrefix(v, "${"):
		if sock := os.Getenv(v[1:]); sock != "" {
			return sock, nil
		}
		return "none", nil
	}
	return tok.expand(v, "identityagent")
}

// tokens expands OpenSSH's %-tokens and "~" in ssh_config values.
type tokens struct {
	alias, host, user string
	port              int
}

// expandAll expands each of vs, as expand does.
func (t tokens) expandAll(vs []string, keyword string) ([]string, error) {
	var out []string
	for _, v := range vs {
		p, err := t.expand(v, keyword)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (t tokens) expand(v, keyword string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		if i+1 >= len(v) {
			return "", fmt.Errorf("ssh_config %s %q: lone %% at the end", keyword, v)
		}
		i++
		switch v[i] {
		case '%':
			b.WriteByte('%')
		case 'h':
			b.WriteString(t.host)
		case 'n':
			b.WriteString(t.alias)
		case 'p':
			b.WriteString(strconv.Itoa(t.port))
		case 'r':
			b.WriteString(t.user)
		case 'u':
			u, err := localUser()
			if err != nil {
				return "", err
			}
			b.WriteString(u)
		case 'd':
			b.WriteString(accountHome())
		case 'i':
			b.WriteString(strconv.Itoa(os.Getuid()))
		case 'l', 'L':
			h, err := os.Hostname()
			if err != nil {
				return "", err
			}
			if v[i] == 'L' {
				h, _, _ = strings.Cut(h, ".")
			}
			b.WriteString(h)
		default:
			return "", fmt.Errorf("ssh_config %s %q: hako does not support the token %%%c", keyword, v, v[i])
		}
	}
	out, err := expandEnv(b.String(), keyword)
	if err != nil {
		return "", err
	}
	if keyword != "proxycommand" && (out == "~" || strings.HasPrefix(out, "~/")) {
		out = accountHome() + out[1:]
	}
	return out, nil
}

// expandEnv expands ${NAME}, as OpenSSH does in file names.
func expandEnv(v, keyword string) (string, error) {
	if keyword == "proxycommand" {
		return v, nil // the shell expands it
	}
	var b strings.Builder
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			return b.String(), nil
		}
		end := strings.Index(v[i:], "}")
		if end < 0 {
			return "", fmt.Errorf("ssh_config %s: unclosed ${ in %q", keyword, v)
		}
		name := v[i+2 : i+end]
		val, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("ssh_config %s: environment variable %s is not set", keyword, name)
		}
		b.WriteString(v[:i])
		b.WriteString(val)
		v = v[i+end+1:]
	}
}

var errMatchExec = errors.New("`Match exec` needs OpenSSH's ssh client, which is not installed here")
