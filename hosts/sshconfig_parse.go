package hosts

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// hako's own ssh_config reader, for machines without OpenSSH's client. It
// follows ssh_config(5) for what hako uses: keywords are case-insensitive,
// "keyword value" or "keyword=value", double quotes, # comments; the first
// value obtained wins (IdentityFile and CertificateFile add up); Host
// patterns with * ? and !negation (case-sensitive, as OpenSSH matches the
// name given); Match with all, host, originalhost, user, localuser,
// canonical and final (with OpenSSH's second "final" pass), each
// negatable; Include with globs, "~", relative to ~/.ssh (or /etc/ssh for
// the system file), and only where its block applies. `Match exec` is an
// error rather than a guess. (The widely used kevinburke/ssh_config cannot
// parse a file with `Match user` or `Match exec` at all, and then silently
// returns nothing, which is why hako has its own.)

// maxIncludeDepth is OpenSSH's READCONF_MAX_DEPTH.
const maxIncludeDepth = 16

type cfgParser struct {
	alias     string // the name looked up (originalhost)
	localUser string
	home      string // "~" in paths
	final     bool   // the second pass, after a `Match final`
	wantFinal bool
	given     string // a keyword set before the files ("user"), not by them
	vals      map[string][]string
	sources   []string // files read, for -v
}

var multiValued = map[string]bool{"identityfile": true, "certificatefile": true, "localforward": true,
	"remoteforward": true, "dynamicforward": true, "sendenv": true, "setenv": true}

func (c *SSHConfig) viaParser(alias, user string) (*SSHSettings, error) {
	files, sshDefault := c.configFiles()
	lu, _ := localUser()
	p := &cfgParser{alias: alias, localUser: lu, home: accountHome(), vals: map[string][]string{}}
	if user != "" {
		// As given on ssh's command line: first, so no file overrides it.
		p.vals["user"] = []string{user}
		p.given = "user"
	}
	if err := p.readAll(files, sshDefault, c.File != ""); err != nil {
		return nil, err
	}
	if p.wantFinal {
		p.final = true
		if err := p.readAll(files, sshDefault, c.File != ""); err != nil {
			return nil, err
		}
	}
	return p.settings(), nil
}

func (p *cfgParser) readAll(files []string, sshDefault, explicit bool) error {
	for i, f := range files {
		incDir := filepath.Join(p.home, ".ssh")
		if sshDefault && i == 1 {
			incDir = "/etc/ssh"
		}
		err := p.readFile(f, incDir, true, false, 0)
		if os.IsNotExist(err) && !explicit {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readFile reads one file. active is whether the lines at its top apply;
// neverMatch (an Include from a block that does not apply) keeps every
// Host and Match in it from applying.
func (p *cfgParser) readFile(file, incDir string, active, neverMatch bool, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("ssh_config %s: Include nested too deep (more than %d levels)", file, maxIncludeDepth)
	}
	f, err := os.Open(file)
	if err != nil {
		if os.IsNotExist(err) {
			return err
		}
		return fmt.Errorf("ssh_config: %w", err)
	}
	defer f.Close()
	if !p.final {
		p.sources = append(p.sources, file)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		at := fmt.Sprintf("ssh_config %s:%d", file, n)
		words, err := splitConfigLine(sc.Text())
		if err != nil {
			return fmt.Errorf("%s: %w", at, err)
		}
		if len(words) == 0 {
			continue
		}
		key, args := strings.ToLower(words[0]), words[1:]
		if key == "proxycommand" && len(args) > 0 {
			args = []string{rawValue(sc.Text())} // a shell command, kept as written
		}
		switch key {
		case "host":
			if len(args) == 0 {
				return fmt.Errorf("%s: Host without a pattern", at)
			}
			active = !neverMatch && matchHostPatterns(p.alias, args)
		case "match":
			m, err := p.match(args)
			if err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
			active = !neverMatch && m
		case "include":
			if len(args) == 0 {
				return fmt.Errorf("%s: Include without a file", at)
			}
			for _, pat := range args {
				if err := p.include(pat, incDir, active, neverMatch, depth, at); err != nil {
					return err
				}
			}
		default:
			if len(args) == 0 {
				return fmt.Errorf("%s: %s has no value", at, words[0])
			}
			if key == "port" && !isPort(args[0]) {
				return fmt.Errorf("%s: bad port number %q", at, args[0])
			}
			if active {
				p.set(key, args)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("ssh_config %s: %w", file, err)
	}
	return nil
}

func (p *cfgParser) include(pat, incDir string, active, neverMatch bool, depth int, at string) error {
	if pat == "~" || strings.HasPrefix(pat, "~/") {
		pat = p.home + pat[1:]
	} else if !filepath.IsAbs(pat) {
		pat = filepath.Join(incDir, pat)
	}
	matches, err := filepath.Glob(pat)
	if err != nil {
		return fmt.Errorf("%s: Include %s: %w", at, pat, err)
	}
	for _, m := range matches { // Glob sorts, as glob(3) does for OpenSSH
		// Each included file starts in the includer's state, and the
		// includer's state is back afterwards.
		if err := p.readFile(m, incDir, active, neverMatch || !active, depth+1); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

func (p *cfgParser) set(key string, args []string) {
	if multiValued[key] {
		p.vals[key] = append(p.vals[key], args...)
		return
	}
	if _, ok := p.vals[key]; ok {
		return // first obtained value wins
	}
	// ProxyJump and ProxyCommand exclude each other: whichever comes first.
	if _, ok := p.vals[map[string]string{"proxyjump": "proxycommand", "proxycommand": "proxyjump"}[key]]; ok {
		return
	}
	switch key {
	case "hostname":
		// HostName may use %h (the name given) and %%.
		v := strings.ReplaceAll(args[0], "%%", "\x00")
		v = strings.ReplaceAll(v, "%h", p.alias)
		args = []string{strings.ReplaceAll(v, "\x00", "%")}
	}
	p.vals[key] = args
}

// match evaluates a Match line's criteria (all must hold).
func (p *cfgParser) match(args []string) (bool, error) {
	if len(args) == 0 {
		return false, fmt.Errorf("Match without criteria")
	}
	result := true
	for i := 0; i < len(args); i++ {
		crit := strings.ToLower(args[i])
		negate := strings.HasPrefix(crit, "!")
		crit = strings.TrimPrefix(crit, "!")
		var m bool
		switch crit {
		case "all":
			m = true
		case "canonical":
			m = p.final // hako does not canonicalize; OpenSSH's final pass counts as post-canonical
		case "final":
			p.wantFinal = true
			m = p.final
		case "exec":
			return false, errMatchExec
		case "host", "originalhost", "user", "localuser":
			if i+1 >= len(args) {
				return false, fmt.Errorf("Match %s without a value", crit)
			}
			i++
			list := args[i]
			switch crit {
			case "host":
				m = matchPatternList(strings.ToLower(p.currentHost()), list)
			case "originalhost":
				m = matchPatternList(strings.ToLower(p.alias), list)
			case "user":
				m = matchPatternList(p.remoteUser(), list)
			case "localuser":
				m = matchPatternList(p.localUser, list)
			}
		default:
			return false, fmt.Errorf("Match criterion %q is not supported by hako's own ssh_config reader (install OpenSSH's client: hako then asks `ssh -G`)", crit)
		}
		if negate {
			m = !m
		}
		result = result && m
	}
	return result, nil
}

func (p *cfgParser) currentHost() string {
	if v := p.vals["hostname"]; len(v) > 0 {
		return v[0]
	}
	return p.alias
}

func (p *cfgParser) remoteUser() string {
	if v := p.vals["user"]; len(v) > 0 {
		return v[0]
	}
	return p.localUser
}

// matchHostPatterns is a Host line: some pattern matches and no negated
// one does.
func matchHostPatterns(host string, pats []string) bool {
	ok := false
	for _, pat := range pats {
		if neg, found := strings.CutPrefix(pat, "!"); found {
			if globMatch(neg, host) {
				return false
			}
			continue
		}
		if globMatch(pat, host) {
			ok = true
		}
	}
	return ok
}

// matchPatternList is a comma-separated pattern list (Match criteria).
func matchPatternList(s, list string) bool {
	return matchHostPatterns(s, strings.Split(list, ","))
}

// globMatch matches OpenSSH patterns: only * and ? are special.
func globMatch(pat, s string) bool {
	// path.Match also knows [] and \, which OpenSSH patterns do not.
	if strings.ContainsAny(pat, "[]\\") {
		var b strings.Builder
		for _, r := range pat {
			if r == '[' || r == ']' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		pat = b.String()
	}
	// path.Match's * does not cross '/', which never occurs in host names.
	ok, err := path.Match(pat, s)
	return err == nil && ok
}

// splitConfigLine splits a line into words: blanks (and one '=' after the
// keyword) separate them, double quotes group, a word starting with '#'
// begins a comment.
func splitConfigLine(line string) ([]string, error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return nil, nil
	}
	// keyword=value and keyword = value
	kw := strings.IndexAny(line, " \t=")
	var words []string
	if kw < 0 {
		return []string{line}, nil
	}
	words = append(words, line[:kw])
	rest := strings.TrimLeft(line[kw:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	for rest != "" {
		if rest[0] == '#' {
			break
		}
		if rest[0] == '"' {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			words = append(words, rest[1:1+end])
			rest = strings.TrimLeft(rest[2+end:], " \t")
			continue
		}
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		words = append(words, rest[:end])
		rest = strings.TrimLeft(rest[end:], " \t")
	}
	return words, nil
}

// rawValue is everything after the keyword and its separator.
func rawValue(line string) string {
	line = strings.TrimSpace(line)
	kw := strings.IndexAny(line, " \t=")
	rest := strings.TrimLeft(line[kw:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	return rest
}

// settings turns the values read into SSHSettings; what no file set gets
// OpenSSH's default.
func (p *cfgParser) settings() *SSHSettings {
	s := &SSHSettings{Alias: p.alias, Set: map[string]bool{}, Source: "hako's ssh_config reader: " + strings.Join(p.sources, ", ")}
	if len(p.sources) == 0 {
		s.Source = "hako's ssh_config reader: no ssh_config file"
	}
	for k, v := range p.vals {
		// "none" switches a proxy off; ssh -G then prints nothing for it.
		if (k == "proxyjump" || k == "proxycommand") && strings.EqualFold(v[0], "none") || k == p.given {
			continue
		}
		s.Set[k] = true
	}
	first := func(k string) string {
		if v := p.vals[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	s.HostName = strings.ToLower(p.alias)
	if v := first("hostname"); v != "" {
		s.HostName = v
	}
	s.User = p.localUser
	if v := first("user"); v != "" {
		s.User = v
	}
	s.Port = defaultPort
	if v, err := strconv.Atoi(first("port")); err == nil {
		s.Port = v
	}
	s.IdentityFiles = p.vals["identityfile"]
	s.IdentitiesOnly = strings.EqualFold(first("identitiesonly"), "yes")
	s.CertificateFiles = p.vals["certificatefile"]
	s.IdentityAgent = first("identityagent")
	if s.Set["proxyjump"] {
		s.ProxyJump = first("proxyjump")
	}
	if s.Set["proxycommand"] {
		s.ProxyCommand = first("proxycommand")
	}
	s.KnownHostsFiles = p.vals["userknownhostsfile"]
	s.GlobalKnownHostsFiles = p.vals["globalknownhostsfile"]
	if !s.Set["globalknownhostsfile"] {
		s.GlobalKnownHostsFiles = defaultGlobalKnownHosts()
	}
	s.StrictHostKeyChecking = first("stricthostkeychecking")
	s.HashKnownHosts = strings.EqualFold(first("hashknownhosts"), "yes") || strings.EqualFold(first("hashknownhosts"), "true")
	s.ConnectTimeout = seconds(first("connecttimeout"))
	s.ServerAliveInterval = seconds(first("serveraliveinterval"))
	s.ServerAliveCountMax = 3
	if n, err := strconv.Atoi(first("serveralivecountmax")); err == nil {
		s.ServerAliveCountMax = n
	}
	if s.ConnectTimeout == 0 && s.Set["connecttimeout"] {
		s.ConnectTimeout = parseTimeSpec(first("connecttimeout"))
	}
	s.Ignored = ignored(s.Set, p.vals)
	return s
}

// maxTimeSeconds is the longest time ssh_config takes: OpenSSH's convtime
// refuses more than INT_MAX seconds. A larger value reads as invalid (the
// default), never as a time.Duration that wrapped around to a negative one.
const maxTimeSeconds = math.MaxInt32

// parseTimeSpec reads sshd_config(5) TIME FORMATS ("1m30s"), which
// ConnectTimeout accepts too; 0 when it cannot.
func parseTimeSpec(v string) time.Duration {
	var total int64 // seconds
	num := ""
	add := func(unit int64) bool {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > maxTimeSeconds {
			return false
		}
		total += n * unit // at most 2^31 weeks: no overflow
		num = ""
		return total <= maxTimeSeconds
	}
	for _, r := range strings.ToLower(v) {
		if r >= '0' && r <= '9' {
			num += string(r)
			continue
		}
		unit := map[rune]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 24 * 3600, 'w': 7 * 24 * 3600}[r]
		if unit == 0 || !add(unit) {
			return 0
		}
	}
	if num != "" && !add(1) {
		return 0
	}
	return time.Duration(total) * time.Second
}

// defaultGlobalKnownHosts is OpenSSH's GlobalKnownHostsFile default (on
// Windows, Windows' OpenSSH's, under %ProgramData%).
func defaultGlobalKnownHosts() []string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return []string{filepath.Join(pd, "ssh", "ssh_known_hosts")}
	}
	return []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
}
