package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// validate refuses a user or port written into the address, naming the
// attribute to use, without contacting anything.
func TestValidateRefusesUserAndPortInAddress(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := planDir(t, `variable "address" { type = string }
host "pi" {
  address = var.address
}
`)
	for addr, want := range map[string]string{
		"pi@192.0.2.10":   `user = "pi"`,
		"192.0.2.10:2222": "port = 2222",
	} {
		code, _, stderr := hako(t, "validate", "-var", "address="+addr, dir)
		if code != 1 || !strings.Contains(stderr, "Invalid address") || !strings.Contains(stderr, want) || !strings.Contains(stderr, "plan.hcl line 3") {
			t.Errorf("%s: exit %d\n%s", addr, code, stderr)
		}
	}
	if code, _, stderr := hako(t, "validate", "-var", "address=[2001:db8::1]", dir); code != 0 {
		t.Errorf("IPv6 in brackets: exit %d\n%s", code, stderr)
	}
}

// -F and -v: the settings and their origins, for validate too; an explicit
// -connect-timeout wins over ssh_config's ConnectTimeout, which wins over
// the default.
func TestSSHConfigFlags(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	conf := filepath.Join(home, "alt_config")
	if err := os.WriteFile(conf, []byte("Host mypi\n  HostName 192.0.2.7\n  Port 50022\n  ConnectTimeout 1\n  ForwardAgent yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := planDir(t, `host "pi" {
  address = "mypi"
  user    = "alice"
}
`)
	code, _, stderr := hako(t, "validate", "-F", conf, "-v", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range [][]string{{"hostname", "192.0.2.7", "ssh_config (Host mypi)"}, {"port", "50022", "ssh_config"},
		{"user", "alice", "plan"}, {"userknownhostsfile", "~/.ssh/known_hosts", "default"},
		{"forwardagent", "yes", "not used by hako"}, {"connecttimeout", "1s", "ssh_config"}} {
		if !hasLine(stderr, want...) {
			t.Errorf("-v lacks a line with %q:\n%s", want, stderr)
		}
	}
	if code, _, stderr := hako(t, "validate", "-F", filepath.Join(home, "missing"), dir); code != 1 || !strings.Contains(stderr, "Cannot read ssh_config") {
		t.Errorf("a missing -F file: exit %d\n%s", code, stderr)
	}

	var o options
	for _, c := range []struct {
		args []string
		want time.Duration
	}{{nil, 0}, {[]string{"-connect-timeout", "10s"}, 10 * time.Second}} {
		o = options{}
		if err := parse(newFlagSet("plan", &o, os.Stderr, true), append(c.args, dir), &o); err != nil {
			t.Fatal(err)
		}
		if o.timeout != c.want {
			t.Errorf("%v: timeout %v, want %v (0: ssh_config's, else hosts' default)", c.args, o.timeout, c.want)
		}
	}
}

func hasLine(s string, parts ...string) bool {
	for _, l := range strings.Split(s, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// hako sdcard takes the first user and key from ssh_config when the host
// block leaves them to it, as a connection would.
func TestSdcardFromSSHConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	key := filepath.Join(home, "keys", "pi_key")
	fp := publicKey(t, key)
	conf := filepath.Join(home, "ssh_config")
	if err := os.WriteFile(conf, []byte("Host mypi\n  User carol\n  IdentityFile "+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := planDir(t, `host "pi" {
  address = "mypi"
  become  = true
}
`)
	boot := bootPartition(t, false)
	code, stdout, stderr := hako(t, "sdcard", "-F", conf, boot, dir)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, w := range []string{"First user carol (host \"pi\")", fp} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout does not say %q:\n%s", w, stdout)
		}
	}
}
