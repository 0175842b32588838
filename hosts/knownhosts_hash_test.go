package hosts

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// With HashKnownHosts a first contact is recorded under a hashed name that
// does not show the address; hako reads it back, OpenSSH's ssh-keygen -F
// finds it, and -reprovision removes it.
func TestHashKnownHosts(t *testing.T) {
	f := newFixture(t)
	writeKnownHosts(t, f, "")
	f.cfg.AcceptNewHostKeys, f.cfg.HashKnownHosts = true, true
	f.dial(t).Close()
	got := readFile(t, f.cfg.KnownHostsFile)
	key := strings.TrimSpace(strings.SplitN(knownHostsLine(f.srv.addr, f.srv.hostKeys[0].PublicKey()), " ", 2)[1])
	if !strings.HasPrefix(got, "|1|") || strings.Contains(got, "127.0.0.1") || !strings.HasSuffix(got, " "+key+"\n") ||
		strings.Count(got, "\n") != 1 {
		t.Fatalf("known_hosts: %q", got)
	}
	f.cfg.AcceptNewHostKeys = false
	f.dial(t).Close() // known now, nothing more recorded
	if again := readFile(t, f.cfg.KnownHostsFile); again != got {
		t.Errorf("known_hosts changed on the second dial: %q", again)
	}
	if _, err := exec.LookPath("ssh-keygen"); err == nil {
		out, err := exec.Command("ssh-keygen", "-F", "[127.0.0.1]:"+itoa(f.srv.port), "-f", f.cfg.KnownHostsFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), key) {
			t.Errorf("ssh-keygen -F does not find the entry: %v\n%s", err, out)
		}
	} else {
		t.Log("no ssh-keygen here: OpenSSH's reading is not checked")
	}

	// The host was reflashed: its hashed entry goes, the new one is hashed.
	old := newEd25519Signer(t)
	writeKnownHosts(t, f, hashedKnownHostsLine(f.srv.addr, old.PublicKey())+"\n")
	f.cfg.Reprovision = true
	h := f.dial(t)
	if h.Replaced == nil || h.Replaced.Removed != 1 {
		t.Fatalf("replaced %+v", h.Replaced)
	}
	got = readFile(t, f.cfg.KnownHostsFile)
	if !strings.HasPrefix(got, "|1|") || !strings.HasSuffix(got, " "+key+"\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("known_hosts after reprovision: %q", got)
	}
}

// A hashed name is the hash of the name as OpenSSH looks it up: lower
// case, "[addr]:port" for ports other than 22.
func TestHashedKnownHostsLine(t *testing.T) {
	k := newEd25519Signer(t).PublicKey()
	for hostport, name := range map[string]string{
		"10.0.0.5:22":    "10.0.0.5",
		"10.0.0.5:2222":  "[10.0.0.5]:2222",
		"Pi.LAN:22":      "pi.lan",
		"[fd42::5]:2222": "[fd42::5]:2222",
	} {
		line := hashedKnownHostsLine(hostport, k)
		f := strings.Fields(line)
		if len(f) != 3 || !hashedMatches(f[0], name) || hashedMatches(f[0], name+"x") {
			t.Errorf("%s: %q does not hash %q", hostport, line, name)
		}
		if other := hashedKnownHostsLine(hostport, k); other == line {
			t.Errorf("%s: two entries share a salt", hostport)
		}
	}
}

// ssh_config's HashKnownHosts yes is in force, read by either reader, and
// -v says where it came from: the key recorded on first contact is hashed.
func TestHashKnownHostsFromSSHConfig(t *testing.T) {
	for _, noSSH := range []bool{false, true} {
		if _, err := exec.LookPath("ssh"); err != nil && !noSSH {
			continue
		}
		f := newFixture(t)
		writeKnownHosts(t, f, "")
		dir := sshConfigFixture(t, map[string]string{"config": "Host box\n  HostName 127.0.0.1\n  Port " +
			itoa(f.srv.port) + "\n  HashKnownHosts yes\n"})
		c := &SSHConfig{File: filepath.Join(dir, "config"), NoSSH: noSSH}
		cfg, from, err := c.Resolve(t.Context(), Config{Name: "box", Address: "box", User: "tester",
			IdentityFiles: f.cfg.IdentityFiles, KnownHostsFile: f.cfg.KnownHostsFile, ConnectTimeout: f.cfg.ConnectTimeout})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(from, func(o Origin) bool {
			return o.Setting == "hashknownhosts" && o.Value == "yes" && o.From == "ssh_config"
		}) {
			t.Errorf("noSSH=%v: origins %+v do not say HashKnownHosts yes from ssh_config", noSSH, from)
		}
		cfg.AcceptNewHostKeys = true
		f.cfg = cfg
		f.dial(t).Close()
		got := readFile(t, f.cfg.KnownHostsFile)
		if !strings.HasPrefix(got, "|1|") || strings.Contains(got, "127.0.0.1") || strings.Count(got, "\n") != 1 {
			t.Errorf("noSSH=%v: known_hosts %q, want one hashed entry", noSSH, got)
		}
	}
}
