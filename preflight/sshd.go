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
// for most keywords the first value read wins. Lines from a Match line to
// the next Match or the end of its file apply only to some connections and
// are left out, Includes among them; "Match all" makes the lines after it
// apply to every connection again.

const sshdConfig = "/etc/ssh/sshd_config"

// sshdDirective is one keyword line.
type sshdDirective struct {
	key  string // lower case
	args []string
	file endFile
	// matchAll: read after "Match all". For every connection sshd reads
	// the Match blocks again, and their first value overrides the global
	// one: see effective.
	matchAll bool
}

// String is the directive as written, e.g. "Port 2222".
func (d sshdDirective) String() string {
	return d.keyword() + " " + strings.Join(d.args, " ")
}

// keyword is the keyword in sshd_config(5)'s spelling for the few the
// checks name.
func (d sshdDirective) keyword() string {
	if k, ok := map[string]string{"port": "Port", "listenaddress": "ListenAddress", "passwordauthentication": "PasswordAuthentication"}[d.key]; ok {
		return k
	}
	return d.key
}

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

// sshdRead returns the directives that apply to every connection, in the
// order sshd reads them, and every file it reads. Without a known
// sshd_config it reads Debian's first line, Include
// /etc/ssh/sshd_config.d/*.conf. A loop of Includes or nesting deeper than
// sshd's limit makes sshd refuse to start; reading stops there, and at
// sshdMaxReads files, with the problem returned.
func (e *env) sshdRead() ([]sshdDirective, []endFile, *includeProblem) {
	var out []sshdDirective
	var read []endFile
	var problem *includeProblem
	var chain []endFile // the includers of the file being read, outermost first
	files := e.paths(isSSHDPath)
	sort.Strings(files)
	var readFile func(f endFile, matchAll bool)
	include := func(pattern string, matchAll bool) {
		if !path.IsAbs(pattern) {
			pattern = path.Join("/etc/ssh", pattern)
		}
		for _, p := range files {
			if problem != nil {
				return
			}
			if ok, _ := path.Match(pattern, p); ok {
				if f, ok := e.file(p); ok {
					readFile(f, matchAll)
				}
			}
		}
	}
	readFile = func(f endFile, matchAll bool) {
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
		// A file starts in its includer's state (only active ones are
		// read), and its Match lines end with it: sshd restores the
		// includer's state after an Include.
		active := true
		for _, line := range strings.Split(string(f.data), "\n") {
			if problem != nil {
				return
			}
			key, args := sshdLine(line)
			switch {
			case key == "":
			case key == "match":
				active = isMatchAll(args)
				matchAll = active
			case !active: // only some connections; an Include here too
			case key == "include":
				for _, a := range args {
					include(a, matchAll)
				}
			default:
				out = append(out, sshdDirective{key: key, args: args, file: f, matchAll: matchAll})
			}
		}
	}
	if f, ok := e.file(sshdConfig); ok {
		readFile(f, false)
	} else {
		include("sshd_config.d/*.conf", false)
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
// allowed in Match blocks: the first one after a "Match all" when there
// is one (sshd applies the matching blocks' values over the global ones
// once a connection comes in), else the first one.
func effective(ds []sshdDirective, key string) (sshdDirective, bool) {
	for _, d := range ds {
		if d.key == key && d.matchAll {
			return d, true
		}
	}
	return first(ds, key)
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
