package hosts

import (
	"bytes"
	"crypto/ed25519"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/fuzzbound"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// fuzzKey is the host key the fuzzed known_hosts files are checked
// against: fixed, so that the seeds (and what the fuzzer makes of them)
// can name it.
func fuzzKey(t testing.TB) ssh.PublicKey {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	k, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fuzzHostName is a name as a plan or ssh_config gives one: letters,
// digits, dots, dashes, colons (IPv6), and the zone's %.
var fuzzHostName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.:%_-]*$`)

// FuzzKnownHosts checks a host key against any known_hosts file, then
// records it (-accept-new-host-keys, plain or hashed as HashKnownHosts
// writes it) and removes the host's entries (reprovisioning): no panic,
// an answer within a bound; no error names the lower-cased copy hako may
// read instead of the file, and no copy is left beside it; a key recorded
// is accepted by the next run without -accept-new-host-keys; removing the
// host's entries twice removes nothing the second time.
func FuzzKnownHosts(f *testing.F) {
	key := fuzzKey(f)
	entry := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	other := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(fuzzKey2(f))))
	seeds := []string{
		"127.0.0.1 " + entry + "\n",
		"[127.0.0.1]:2222 " + other + "\n127.0.0.1 " + entry + " comment\n",
		"# comment\n\n[LocalHost]:2222,Pi.Example " + entry,
		"@cert-authority *.example,127.0.0.* " + other + "\n",
		"@revoked * " + entry + "\n",
		hashedKnownHostsLine("127.0.0.1:22", key) + "\n" + hashedKnownHostsLine("[::1]:2222", key) + "\n",
		"!pi.example,*.example " + entry + "\n@cert-authority\n|1|bad|hash " + entry + "\n",
		"127.0.0.1 ssh-ed25519 AAAAnotakey\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), "127.0.0.1", uint16(22), i%2 == 0)
		f.Add([]byte(s), "pi.example", uint16(2222), i%2 == 1)
	}
	f.Fuzz(func(t *testing.T, content []byte, host string, port uint16, hash bool) {
		defer fuzzbound.Start()()
		// CheckAddress: as the plan accepts it ("0:" is refused there).
		if _, err := CheckAddress(host); err != nil || !fuzzHostName.MatchString(host) || port == 0 {
			t.Skip("not a host name a plan gives")
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "known_hosts")
		if err := os.WriteFile(file, content, 0o600); err != nil {
			t.Fatal(err)
		}
		hp := strings.ToLower(net.JoinHostPort(host, strconv.Itoa(int(port))))
		remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)}
		noCopyNamed := func(err error) {
			t.Helper()
			if err != nil && strings.Contains(err.Error(), ".known_hosts.hako-") {
				t.Errorf("the error names hako's copy, not the file: %v", err)
			}
			if copies, _ := filepath.Glob(filepath.Join(dir, ".known_hosts.hako-*")); len(copies) > 0 {
				t.Errorf("copies left: %v", copies)
			}
		}
		c, err := newHostKeyChecker("h", hp, file, true, nil, nil)
		noCopyNamed(err)
		if err != nil {
			return
		}
		// As Dial sets them: the host's port, and 22 as a bootstrap port.
		c.hash, c.ports = hash, []int{int(port), 22}
		_ = c.algorithms()
		err = c.check(hp, remote, key)
		noCopyNamed(err)
		if err == nil {
			again, err := newHostKeyChecker("h", hp, file, false, nil, nil)
			if err == nil {
				again.ports = c.ports
			}
			if err != nil {
				t.Fatalf("known_hosts unreadable after the key was accepted: %v", err)
			}
			if err := again.check(hp, remote, key); err != nil {
				b, _ := os.ReadFile(file)
				t.Fatalf("the key accepted (recorded: %v) is not accepted next time: %v\nknown_hosts:\n%s", c.recorded != nil, err, b)
			}
		}
		names := []string{strings.ToLower(knownHostsName(hp))}
		if _, err := removeHostEntries(file, names); err != nil {
			t.Fatal(err)
		}
		if n, err := removeHostEntries(file, names); err != nil || n != 0 {
			b, _ := os.ReadFile(file)
			t.Errorf("the second removal took %d entries (%v):\n%s", n, err, b)
		}
		noCopyNamed(nil)
	})
}

// fuzzKey2 is another host key.
func fuzzKey2(t testing.TB) ssh.PublicKey {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	k, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzKnownHostsLine: lowering a file's host patterns keeps every line
// where it was (entries are reported by line number) and is done in one
// go; an entry hako writes for a name, plain or hashed, is removed by
// that name, and found by it.
func FuzzKnownHostsLine(f *testing.F) {
	for _, s := range []string{"Pi.Example,[LocalHost]:2222 ssh-ed25519 AAAA\n", "@cert-authority *.EXAMPLE ssh-ed25519 AAAA x\n",
		"|1|abc|def ssh-ed25519 AAAA\n#Comment\n", "  \t@revoked\tHOST\n", "İ ssh-ed25519 AAAA\r\nx"} {
		f.Add([]byte(s), "pi.example:22")
	}
	f.Add([]byte(""), "[fe80::1%eth0]:2222")
	key := fuzzKey(f)
	f.Fuzz(func(t *testing.T, b []byte, hp string) {
		defer fuzzbound.Start()()
		lowered, changed := lowerHostPatterns(b)
		if bytes.Count(lowered, []byte("\n")) != bytes.Count(b, []byte("\n")) {
			t.Errorf("lines moved:\n%q\n%q", b, lowered)
		}
		if changed == bytes.Equal(lowered, b) {
			t.Errorf("changed = %v, yet %q -> %q", changed, b, lowered)
		}
		if again, changed := lowerHostPatterns(lowered); changed {
			t.Errorf("lowered twice: %q -> %q", lowered, again)
		}
		for _, line := range strings.Split(string(b), "\n") {
			splitKnownHostsLine(line)
		}
		host, port, err := net.SplitHostPort(hp)
		if err != nil || !fuzzHostName.MatchString(host) {
			return
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return
		}
		hp = strings.ToLower(hp)
		name := strings.ToLower(knownHostsName(hp))
		for _, line := range []string{knownHostsLine(hp, key), hashedKnownHostsLine(hp, key)} {
			if rest, n := withoutNames(line+"\n", []string{name}); rest != "" || n != 1 {
				t.Errorf("%q: removing %q left %q (%d taken)", line, name, rest, n)
			}
			db, err := xknownhosts.New(writeTemp(t, line+"\n"))
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if err := db(hp, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}, key); err != nil {
				t.Errorf("%q does not find %s: %v", line, hp, err)
			}
		}
	})
}

func writeTemp(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// globRef is OpenSSH's pattern as a regular expression, the reference
// matchPattern is compared with: * any bytes, ? one, the rest literal.
func globRef(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, c := range []byte(pattern) {
		switch c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

// FuzzMatchPattern compares the matcher of certificate principals with a
// regular expression (on ASCII, where a byte is a character), within a
// bound: the principals come from the host's certificate, before its
// signature is checked, so whoever answers in the host's place chooses
// them.
func FuzzMatchPattern(f *testing.F) {
	for _, c := range [][2]string{{"pi.example", "*.example"}, {"10.0.0.12", "10.0.0.1?"}, {"a.b.c", "a*c"}, {"", "*"},
		{"", "?"}, {"pi", "pi.example"}, {"abcabc", "*bc*?c"}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, s, pattern string) {
		defer fuzzbound.Start()()
		got := matchPattern(s, pattern)
		if !isASCII(s) || !isASCII(pattern) {
			return
		}
		if want := globRef(pattern).MatchString(s); got != want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", s, pattern, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
