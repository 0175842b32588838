package preflight

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// sshd's configuration as the plan leaves it, read the way sshd reads it:
// /etc/ssh/sshd_config from the top, each Include expanded in place (its
// glob's matches in lexical order, relative paths under /etc/ssh), so that
// for most keywords the first value read wins.
//
// sshd reads the files twice. At start-up every line outside Match blocks
// applies, and lines after "Match all" (the global pass). For each
// connection it reads them again with only the lines of the Match blocks
// the connection matches (and of "Match all"), and what those set
// replaces the global values (the connection's pass). A file starts in its
// includer's state and its Match lines end with it; an Include in a block
// that does not apply reads nothing that could.

const sshdConfig = "/etc/ssh/sshd_config"

// sshdDirective is one keyword line.
type sshdDirective struct {
	key  string // lower case
	args []string
	file endFile
	line int // 1-based, in file
	// global: read in the global pass. conn: read in the connection's
	// pass; without a connection, a pass in which only "Match all"
	// matches, so that conn marks the lines every connection gets.
	global, conn bool
}

// String is the directive as written, e.g. "Port 2222".
func (d sshdDirective) String() string {
	return d.keyword() + " " + strings.Join(d.args, " ")
}

// keyword is the keyword in sshd_config(5)'s spelling for the few the
// checks name.
func (d sshdDirective) keyword() string {
	if k, ok := sshdKeywords[d.key]; ok {
		return k
	}
	return d.key
}

var sshdKeywords = map[string]string{"port": "Port", "listenaddress": "ListenAddress", "passwordauthentication": "PasswordAuthentication",
	"pubkeyauthentication": "PubkeyAuthentication", "dsaauthentication": "DSAAuthentication", "authenticationmethods": "AuthenticationMethods",
	"allowusers": "AllowUsers", "denyusers": "DenyUsers", "allowgroups": "AllowGroups", "denygroups": "DenyGroups",
	"permitrootlogin": "PermitRootLogin"}

// isSSHDPath: a file sshd may read (through Include).
func isSSHDPath(p string) bool { return strings.HasPrefix(p, "/etc/ssh/") }

// sshdDirectives returns the directives that apply to every connection,
// in the order sshd reads them.
func (e *env) sshdDirectives() []sshdDirective {
	ds, _, _ := e.sshdRead()
	return ds
}

// sshdMaxDepth is how deep sshd nests Includes (SERVCONF_MAX_DEPTH):
// deeper, it stops with "Too many recursive configuration includes" and
// does not start.
const sshdMaxDepth = 16

// sshdMaxReads bounds the files one reading expands. The configuration
// comes from the host: Includes that fan out (each file including every
// other) multiply at every level, and without a bound a few files would
// keep the checks busy for hours. A real configuration reads a handful.
const sshdMaxReads = 256

// includeProblem is why sshdRead stopped reading: a file includes itself
// (directly or through others), Includes nest deeper than sshd allows, or
// there are more than sshdMaxReads files to read.
type includeProblem struct {
	chain   []endFile // the files from sshd_config to the one that would be read again, or too deep
	loop    bool
	tooMany bool
}

// sshdRead returns the directives of the global pass, in the order sshd
// reads them (conn marks those after "Match all"), and every file it
// reads. Without a known sshd_config it reads Debian's first line,
// Include /etc/ssh/sshd_config.d/*.conf. A loop of Includes or nesting
// deeper than sshd's limit makes sshd refuse to start; reading stops
// there, and at sshdMaxReads files, with the problem returned.
func (e *env) sshdRead() ([]sshdDirective, []endFile, *includeProblem) {
	ds, read, problem := e.sshdReadFor(nil)
	var out []sshdDirective
	for _, d := range ds {
		if d.global {
			out = append(out, d)
		}
	}
	return out, read, problem
}

// sshdPass is where one pass stands in a file: whether the lines apply
// (active), whether no Match line was read yet in a file read for a
// connection (matchOnly: sshd's SSHCFG_MATCH_ONLY, its Match lines are
// judged), or whether the file was included from a block that does not
// apply (never: its Match lines match nothing either).
type sshdPass struct{ active, matchOnly, never bool }

// included is the pass an Include in this state starts its files in.
func (p sshdPass) included() sshdPass {
	return sshdPass{active: p.active, matchOnly: p.matchOnly, never: !p.matchOnly && !p.active}
}

// sshdReadFor reads the configuration for the connection c: the
// directives of either pass, each marked with the passes it is read in.
// With c nil the connection's pass matches "Match all" alone.
func (e *env) sshdReadFor(c *sshdConn) ([]sshdDirective, []endFile, *includeProblem) {
	var out []sshdDirective
	var read []endFile
	var problem *includeProblem
	var chain []endFile // the includers of the file being read, outermost first
	files := e.paths(isSSHDPath)
	sort.Strings(files)
	matches := func(args []string) bool { return isMatchAll(args) }
	if c != nil {
		matches = c.matches
	}
	var readFile func(f endFile, g, cp sshdPass)
	include := func(pattern string, g, cp sshdPass) {
		if !path.IsAbs(pattern) {
			pattern = path.Join("/etc/ssh", pattern)
		}
		for _, p := range files {
			if problem != nil {
				return
			}
			if ok, _ := path.Match(pattern, p); ok {
				if f, ok := e.file(p); ok {
					readFile(f, g, cp)
				}
			}
		}
	}
	readFile = func(f endFile, g, cp sshdPass) {
		here := append(chain[:len(chain):len(chain)], f)
		switch {
		case slices.ContainsFunc(chain, func(c endFile) bool { return c.path == f.path }):
			problem = &includeProblem{chain: here, loop: true}
			return
		case len(chain) > sshdMaxDepth:
			problem = &includeProblem{chain: here}
			return
		case len(read) >= sshdMaxReads:
			problem = &includeProblem{chain: here, tooMany: true}
			return
		}
		read = append(read, f)
		chain = here
		defer func() { chain = chain[:len(chain)-1] }()
		for i, line := range strings.Split(string(f.data), "\n") {
			if problem != nil {
				return
			}
			key, args := sshdLine(line)
			switch {
			case key == "":
			case key == "match":
				g = sshdPass{active: !g.never && isMatchAll(args), never: g.never}
				cp = sshdPass{active: !cp.never && matches(args), never: cp.never}
			case key == "include":
				gi, ci := g.included(), cp.included()
				if gi.never && ci.never {
					continue // nothing in it can apply
				}
				for _, a := range args {
					include(a, gi, ci)
				}
			case g.active || cp.active:
				out = append(out, sshdDirective{key: key, args: args, file: f, line: i + 1, global: g.active, conn: cp.active})
			}
		}
	}
	if f, ok := e.file(sshdConfig); ok {
		readFile(f, sshdPass{active: true}, sshdPass{matchOnly: true})
	} else {
		include("sshd_config.d/*.conf", sshdPass{active: true}, sshdPass{matchOnly: true})
	}
	return out, read, problem
}

// isMatchAll: a Match line's criteria are "all", which sshd matches for
// every connection (criteria are case-insensitive; sshdLine drops a
// trailing comment).
func isMatchAll(args []string) bool {
	return len(args) == 1 && strings.EqualFold(args[0], "all")
}

// first returns the first directive with key, the one sshd uses.
func first(ds []sshdDirective, key string) (sshdDirective, bool) {
	for _, d := range ds {
		if d.key == key {
			return d, true
		}
	}
	return sshdDirective{}, false
}

// effective returns the value of key a connection gets, for keywords
// allowed in Match blocks: the first one of the connection's pass when
// there is one (sshd applies it over the global one once a connection
// comes in), else the first one of the global pass.
func effective(ds []sshdDirective, key string) (sshdDirective, bool) {
	for _, d := range ds {
		if d.key == key && d.conn {
			return d, true
		}
	}
	for _, d := range ds {
		if d.key == key && d.global {
			return d, true
		}
	}
	return sshdDirective{}, false
}

// sshdLine splits a configuration line into its lower-cased keyword and
// arguments: "Keyword value", "Keyword=value" and "Keyword = value" alike;
// double quotes group; a word starting with # starts a comment. One "="
// before the keyword is skipped, as sshd skips it ("=Port 2222" sets the
// port); a line with no keyword left is no directive.
func sshdLine(line string) (string, []string) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	line = strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(line, "="); ok {
		line = strings.TrimLeft(rest, " \t")
	}
scan:
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case !quoted && (r == ' ' || r == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case !quoted && r == '#' && !inWord:
			break scan
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return "", nil
	}
	key, args := words[0], words[1:]
	if k, v, ok := strings.Cut(key, "="); ok {
		key = k
		if v != "" {
			args = append([]string{v}, args...)
		}
	} else if len(args) > 0 && strings.HasPrefix(args[0], "=") {
		if args[0] = args[0][1:]; args[0] == "" {
			args = args[1:]
		}
	}
	if key == "" {
		return "", nil
	}
	return strings.ToLower(key), args
}
