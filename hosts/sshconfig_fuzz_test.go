package hosts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/fuzzbound"
)

// FuzzSSHConfig reads any ~/.ssh/config with hako's own reader (the one
// used where OpenSSH's client is missing), for any alias and user: no
// panic, an answer within a bound; the settings read are usable: a port
// from 1 to 65535, timeouts that are not negative, an alias kept.
func FuzzSSHConfig(f *testing.F) {
	for _, s := range []string{
		"Host pi\n  HostName 192.168.0.64\n  Port 2222\n  User alice\n  IdentityFile ~/.ssh/id_pi\n",
		"Host *.lan !bad.lan\n  ProxyJump jump\nHost jump\n  ProxyCommand ssh -W %h:%p gw\nHost *\n  ServerAliveInterval 15\n  ConnectTimeout 1m30s\n",
		"Match originalhost pi user alice,!root final\n  Port=50022\nMatch all\n  HashKnownHosts yes\n  UserKnownHostsFile \"~/.ssh/known hosts\" ~/.ssh/k2\n",
		"Include inc.conf\nHost pi\nInclude config\n  IdentitiesOnly yes\n  IdentityAgent none\n  ServerAliveCountMax 5\n",
		"Host \"a b\"\nMatch localuser me canonical\nMatch exec true\nHost\nPort 0\nHostName %h.%%\n",
	} {
		f.Add([]byte(s), "pi", "alice")
		f.Add([]byte(s), "x.lan", "")
	}
	f.Fuzz(func(t *testing.T, config []byte, alias, user string) {
		defer fuzzbound.Start()()
		home := t.TempDir()
		sshDir := filepath.Join(home, ".ssh")
		file := filepath.Join(sshDir, "config")
		if err := os.Mkdir(sshDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, config, 0o600); err != nil {
			t.Fatal(err)
		}
		// Includes stay in this home: the reader would read any file
		// named, and the machine's files are not the fuzzer's input.
		for _, line := range strings.Split(string(config), "\n") {
			words, err := splitConfigLine(line)
			if err != nil || len(words) == 0 || !strings.EqualFold(words[0], "include") {
				continue
			}
			for _, w := range words[1:] {
				if filepath.IsAbs(w) || strings.Contains(w, "..") || strings.Contains(w, "\\") {
					t.Skip("an Include outside the fuzzer's home")
				}
			}
		}
		p := &cfgParser{alias: alias, localUser: "me", home: home, vals: map[string][]string{}}
		if user != "" {
			p.vals["user"] = []string{user}
			p.given = "user"
		}
		if err := p.readAll([]string{file}, false, true); err != nil {
			return
		}
		if p.wantFinal {
			p.final = true
			if err := p.readAll([]string{file}, false, true); err != nil {
				return
			}
		}
		s := p.settings()
		if s.Port < 1 || s.Port > 65535 {
			t.Errorf("port %d", s.Port)
		}
		if s.ConnectTimeout < 0 || s.ServerAliveInterval < 0 {
			t.Errorf("negative timeouts: ConnectTimeout %v, ServerAliveInterval %v", s.ConnectTimeout, s.ServerAliveInterval)
		}
		if s.Alias != alias || s.HostName == "" && alias != "" {
			t.Errorf("alias %q read as %q, host name %q", alias, s.Alias, s.HostName)
		}
	})
}

// Times as ssh_config(5) writes them; more than OpenSSH takes (INT_MAX
// seconds) is invalid, 0, not a duration wrapped around to a negative one.
func TestParseTimes(t *testing.T) {
	for v, want := range map[string]time.Duration{"1m30s": 90 * time.Second, "90": 90 * time.Second, "1W": 7 * 24 * time.Hour,
		"2147483647": 2147483647 * time.Second, "2147483648": 0, "3551w": 0, "9999999999w": 0, "1x": 0, "m": 0, "": 0} {
		if got := parseTimeSpec(v); got != want {
			t.Errorf("parseTimeSpec(%q) = %v, want %v", v, got, want)
		}
	}
	for v, want := range map[string]time.Duration{"15": 15 * time.Second, "2147483647": 2147483647 * time.Second, "9999999999": 0, "-1": 0} {
		if got := seconds(v); got != want {
			t.Errorf("seconds(%q) = %v, want %v", v, got, want)
		}
	}
}
