package hosts

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
)

// removeHostEntries rewrites a known_hosts file without the entries for
// host on any port ("host", "[host]:port", and their hashed forms), and
// returns how many lines it removed. The file is replaced atomically.
func removeHostEntries(file, host string) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	var kept []string
	removed := 0
	lines := strings.SplitAfter(string(b), "\n")
	for _, line := range lines {
		if entryNamesHost(line, host) {
			removed++
			continue
		}
		kept = append(kept, line)
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

// entryNamesHost reports whether a known_hosts line is about host.
func entryNamesHost(line, host string) bool {
	f := strings.Fields(line)
	if len(f) < 3 || strings.HasPrefix(f[0], "#") {
		return false
	}
	names := f[0]
	if strings.HasPrefix(names, "@") { // @cert-authority / @revoked: leave those to the user
		return false
	}
	for _, n := range strings.Split(names, ",") {
		if strings.HasPrefix(n, "|1|") {
			if hashedMatchesHost(n, host) {
				return true
			}
			continue
		}
		if n == host || strings.HasPrefix(n, "["+host+"]:") {
			return true
		}
	}
	return false
}

// hashedMatchesHost checks a hashed name ("|1|salt|hash", HashKnownHosts)
// against the bare host, the form OpenSSH uses for port 22. A hashed
// "[host]:port" cannot be recognised without knowing the port; such an
// entry stays, and a later mismatch on that port is refused as usual.
func hashedMatchesHost(name, host string) bool {
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
