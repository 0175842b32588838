package hosts

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
)

// removeHostEntries rewrites a known_hosts file without the given names
// ("host" for port 22, "[host]:port" otherwise, plain or hashed), and
// returns how many entries it removed. A line that also names another
// host keeps those names. The file is replaced atomically. A symlinked
// known_hosts (a dotfiles checkout) stays a link: the new file is written
// beside the link's target and renamed over it: the link keeps working for
// ssh and for the entries hako and ssh append through it.
func removeHostEntries(file string, names []string) (int, error) {
	file, err := filepath.EvalSymlinks(file)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	var kept []string
	removed := 0
	lines := strings.SplitAfter(string(b), "\n")
	for _, line := range lines {
		rest, n := withoutNames(line, names)
		removed += n
		if rest != "" {
			kept = append(kept, rest)
		}
	}
	if removed == 0 {
		return 0, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".known_hosts.hako-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(strings.Join(kept, "")); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	return removed, os.Rename(tmp.Name(), file)
}

// withoutNames returns line without the given names ("" when none of its
// names is left) and how many it took out. Comments, markers
// (@cert-authority, @revoked, or any other word starting with @) and
// unparsable lines stay as they are.
func withoutNames(line string, names []string) (string, int) {
	marker, patterns, key, ok := splitKnownHostsLine(line)
	if !ok || marker != "" || strings.HasPrefix(patterns, "@") || len(key) < 2 {
		return line, 0
	}
	var keep []string
	for _, n := range strings.Split(patterns, ",") {
		if !nameMatches(n, names) {
			keep = append(keep, n)
		}
	}
	taken := strings.Count(patterns, ",") + 1 - len(keep)
	if taken == 0 {
		return line, 0
	}
	if len(keep) == 0 {
		return "", taken
	}
	return strings.Replace(line, patterns, strings.Join(keep, ","), 1), taken
}

// nameMatches compares plain names without case, as OpenSSH matches them
// (names holds lower-cased names, which is also what a hashed name hashes).
func nameMatches(n string, names []string) bool {
	for _, want := range names {
		if strings.EqualFold(n, want) || strings.HasPrefix(n, "|1|") && hashedMatches(n, want) {
			return true
		}
	}
	return false
}

// hashedMatches checks a hashed name ("|1|salt|hash", HashKnownHosts)
// against a plain one.
func hashedMatches(name, host string) bool {
	parts := strings.Split(name, "|")
	if len(parts) != 4 {
		return false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[2])
	want, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(host))
	return hmac.Equal(mac.Sum(nil), want)
}
