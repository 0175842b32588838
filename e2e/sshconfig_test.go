package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/testhost"
)

// aliasPlan is a plan whose host block has nothing but an ssh_config alias
// (and become): everything else comes from ssh_config.
func aliasPlan(t *testing.T, alias, extra, content string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), fmt.Sprintf(`
host "pi" {
  address = %q
  become  = true
%s}

task "file" "mark" {
  path    = "/etc/hako-mark"
  content = %q
  mode    = "0644"
}
`, alias, extra, content))
	return dir
}

// An alias from ssh_config, as every other tool on the laptop resolves it:
// HostName and Port from an Included file, User and IdentityFile from a
// Match block. Read from $HOME/.ssh/config by default and from another
// file with -F; -v says where each setting came from. The same config read
// by hako's own reader (no OpenSSH client) reaches the host too.
func TestSSHConfigAlias(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{SSHPort: 2222})
	home := t.TempDir() // never the real ~/.ssh of this machine
	t.Setenv("HOME", home)
	kh := h.KnownHostsFile(t)
	sshDir := filepath.Join(home, ".ssh")
	config := fmt.Sprintf(`Include %[1]s/conf.d/*.conf
Host mypi
  HostName %[2]s
Match originalhost mypi user pi
  IdentityFile %[3]s
  UserKnownHostsFile %[4]s
`, sshDir, h.Addr, h.KeyFile, kh)
	if err := os.MkdirAll(filepath.Join(sshDir, "conf.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sshDir, "config"), config)
	writeFile(t, filepath.Join(sshDir, "conf.d", "mypi.conf"), fmt.Sprintf("Host mypi\n  Port %d\n  User pi\n", h.Port))
	dir := aliasPlan(t, "mypi", "", "via an alias\n")

	plan := hako(t, "plan", "-v", dir)
	if plan.code != 0 {
		t.Fatalf("plan failed:\n%s", plan)
	}
	mustContain(t, plan, "+ file.mark", "hostname", h.Addr, "ssh_config (Host mypi)", "2222",
		"ssh -G -F "+filepath.Join(sshDir, "config")+" mypi")
	for _, line := range []string{"port", "user", "identityfile", "userknownhostsfile"} {
		if !hasLine(plan.stderr, line, "ssh_config") {
			t.Errorf("-v does not say %s came from ssh_config:\n%s", line, plan.stderr)
		}
	}
	apply := hako(t, "apply", dir)
	if apply.code != 0 {
		t.Fatalf("apply failed:\n%s", apply)
	}
	mustContain(t, apply, "changed  file.mark", "pi  ok=0 changed=1 failed=0")
	if got := h.Exec(t, "cat /etc/hako-mark"); got != "via an alias\n" {
		t.Errorf("/etc/hako-mark = %q", got)
	}

	// -F: another file, in one piece, wins over the default one, which
	// now sends mypi to a closed port.
	alt := filepath.Join(t.TempDir(), "alt_config")
	writeFile(t, alt, fmt.Sprintf("Host mypi\n  HostName %s\n  Port %d\n  User pi\n  IdentityFile %s\n  UserKnownHostsFile %s\n",
		h.Addr, h.Port, h.KeyFile, kh))
	writeFile(t, filepath.Join(sshDir, "config.closed"), fmt.Sprintf("Host mypi\n  HostName %s\n  Port 1\n", h.Addr))
	if err := os.Rename(filepath.Join(sshDir, "config"), filepath.Join(sshDir, "config.good")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(sshDir, "config.closed"), filepath.Join(sshDir, "config")); err != nil {
		t.Fatal(err)
	}
	r := hako(t, "apply", dir)
	mustContain(t, r, fmt.Sprintf("%s:1): tcp connect: connection refused", h.Addr))
	again := hako(t, "apply", "-F", alt, dir)
	mustContain(t, again, "pi  ok=1 changed=0 failed=0")

	// hako's own reader, on the same files (with Match user, which
	// kevinburke/ssh_config cannot parse).
	if err := os.Rename(filepath.Join(sshDir, "config.good"), filepath.Join(sshDir, "config")); err != nil {
		t.Fatal(err)
	}
	own := &hosts.SSHConfig{NoSSH: true}
	cfg, _, err := own.Resolve(t.Context(), hosts.Config{Name: "pi", Address: "mypi", ConnectTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Address != h.Addr || cfg.Port != h.Port || cfg.User != "pi" || cfg.KnownHostsFile != kh {
		t.Fatalf("hako's reader: %+v", cfg)
	}
	c, err := hosts.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Run(t.Context(), "id -un")
	if err != nil || string(res.Stdout) != "pi\n" {
		t.Errorf("id -un: %q %v", res.Stdout, err)
	}
}

// hasLine: some line of s has all the parts.
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

// ProxyJump: the host admits SSH only from the jump host (a firewall in
// it); hako reaches it through the jump host, checking both host keys in
// the plan's known_hosts. An unknown jump host key is refused, then
// recorded with -accept-new-host-keys; a changed one is refused, also with
// -reprovision, and the host is left alone.
func TestProxyJump(t *testing.T) {
	testhost.Require(t)
	jump := testhost.Start(t, testhost.Options{})
	target := testhost.Start(t, testhost.Options{SSHPort: 2222})
	target.AdmitSSHOnlyFrom(t, jump.Addr)
	home := t.TempDir()
	t.Setenv("HOME", home)

	d := net.Dialer{Timeout: 30 * time.Second}
	if c, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort(target.Addr, strconv.Itoa(target.Port))); err == nil {
		c.Close()
		t.Fatal("the target is reachable directly")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("direct connection: %v", err)
	}

	conf := filepath.Join(home, "ssh_config")
	writeFile(t, conf, fmt.Sprintf(`Host pi-behind
  HostName %s
  Port %d
  User pi
  IdentityFile %s
  ProxyJump bastion
Host bastion
  HostName %s
  User pi
`, target.Addr, target.Port, target.KeyFile, jump.Addr))
	targetLine := readFile(t, target.KnownHostsFile(t))
	kh := filepath.Join(home, "known_hosts")
	extra := fmt.Sprintf("  known_hosts = %q\n", kh)

	// Only the target's key is known: the jump host's is refused.
	writeFile(t, kh, targetLine)
	dir := aliasPlan(t, "pi-behind", extra, "through a jump host\n")
	r := hako(t, "apply", "-F", conf, dir)
	if r.code != 1 {
		t.Fatalf("apply with an unknown jump host key: want exit 1\n%s", r)
	}
	mustContain(t, r, `through jump host "bastion"`, "unknown host key", jump.Addr)
	if out := target.Exec(t, "test -e /etc/hako-mark && echo present || echo absent"); out != "absent\n" {
		t.Fatal("the target was changed")
	}

	r = hako(t, "apply", "-F", conf, "-accept-new-host-keys", dir)
	if r.code != 0 {
		t.Fatalf("apply through the jump host failed:\n%s", r)
	}
	mustContain(t, r, "changed  file.mark", "pi  ok=0 changed=1 failed=0")
	if got := target.Exec(t, "cat /etc/hako-mark"); got != "through a jump host\n" {
		t.Errorf("/etc/hako-mark = %q", got)
	}
	if got := readFile(t, kh); !strings.Contains(got, jump.Addr+" ssh-ed25519") || !strings.HasPrefix(got, targetLine) {
		t.Errorf("known_hosts after -accept-new-host-keys:\n%s", got)
	}

	// The jump host's key changes (another host's key at its address).
	other := testhost.Start(t, testhost.Options{})
	changed := targetLine + strings.Replace(readFile(t, other.KnownHostsFile(t)), other.Addr, jump.Addr, 1)
	writeFile(t, kh, changed)
	dir2 := aliasPlan(t, "pi-behind", extra, "must not arrive\n")
	r = hako(t, "apply", "-F", conf, "-accept-new-host-keys", "-reprovision", "pi", dir2)
	if r.code != 1 {
		t.Fatalf("apply with a changed jump host key: want exit 1\n%s", r)
	}
	mustContain(t, r, `jump host "bastion"`, "HOST KEY CHANGED", "-reprovision is only for the plan's hosts")
	if got := readFile(t, kh); got != changed {
		t.Errorf("known_hosts was modified:\n%s", got)
	}
	if got := target.Exec(t, "cat /etc/hako-mark"); got != "through a jump host\n" {
		t.Errorf("the target was changed: /etc/hako-mark = %q", got)
	}
}

// An IPv6 address, with and without brackets, reaches the host and meets
// its key in known_hosts ("[addr]:port").
func TestIPv6Address(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{SSHPort: 2222})
	if h.Addr6 == "" {
		t.Fatal("the test host has no IPv6 address")
	}
	t.Setenv("HOME", t.TempDir())
	kh := h.KnownHostsFile(t)
	for i, addr := range []string{"[" + h.Addr6 + "]", h.Addr6} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "plan.hcl"), fmt.Sprintf(`
host "pi" {
  address       = %q
  port          = %d
  user          = "pi"
  identity_file = %q
  known_hosts   = %q
}

task "command" "from" {
  command = "echo $SSH_CONNECTION > /tmp/hako-ipv6-%d"
  creates = "/tmp/hako-ipv6-%d"
}
`, addr, h.Port, h.KeyFile, kh, i, i))
		r := hako(t, "apply", dir)
		if r.code != 0 {
			t.Fatalf("%s: apply failed:\n%s", addr, r)
		}
		// sshd saw an IPv6 connection to its IPv6 address.
		if got := h.Exec(t, fmt.Sprintf("cat /tmp/hako-ipv6-%d", i)); !strings.Contains(got, " "+h.Addr6+" 2222") {
			t.Errorf("%s: SSH_CONNECTION %q", addr, got)
		}
	}
	if got := readFile(t, kh); strings.Count(got, "\n") != 1 {
		t.Errorf("known_hosts changed:\n%s", got)
	}
}

// A freshly flashed card behind a jump host (the Pi behind a home router,
// reached through a bastion), both of its SSH ports reachable only from
// the jump host: the plan's port is refused there, so hako comes in with
// the bootstrap settings through the same jump host, moves SSH and
// confirms the new port through it.
func TestFreshCardBehindJumpHost(t *testing.T) {
	testhost.Require(t)
	jump := testhost.Start(t, testhost.Options{})
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	h.AdmitPortsOnlyFrom(t, []int{22, 2222}, jump.Addr)
	home := t.TempDir()
	t.Setenv("HOME", home)
	conf := filepath.Join(home, "ssh_config")
	writeFile(t, conf, fmt.Sprintf("Host picard\n  HostName %s\n  ProxyJump pi@%s\n", h.Addr, jump.Addr))
	kh := filepath.Join(home, "known_hosts")
	writeFile(t, kh, readFile(t, h.KnownHostsFile(t))+readFile(t, jump.KnownHostsFile(t)))
	args := []string{"apply", "-F", conf, repoPath("examples/pi-home-server"),
		"-var", "address=picard", "-var", "identity_file=" + h.KeyFile, "-var", "known_hosts=" + kh,
		"-var", "ssh_port=2222", "-var", "admin_user=alice", "-var", "bootstrap_user=pi",
		"-var", "pppoe_user=user@isp.example", "-var", "pppoe_password=" + pppoePassword,
		"-var", "pppoe_connect=false"}
	r := hako(t, args...)
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	mustContain(t, r, "port 2222 refused the connection; connecting with the bootstrap settings instead (pi@",
		"moving SSH from port 22 (pi) to port 2222 (alice)", "confirmed: logged in on port 2222 as alice",
		"\npi  ok=1 changed=12 failed=0 skipped=0\n")
	noPassword(t, r)
	if got := listeningPorts(t, h); got != "2222" {
		t.Errorf("sshd listens on %q, want only 2222", got)
	}
	again := hako(t, args...)
	mustContain(t, again, "\npi  ok=12 changed=0 failed=0 skipped=0\n")
}

// The bootstrap settings read ssh_config for the bootstrap user, as
// `ssh -l pi -p PORT mypi` does: the host's own port is refused, and the
// key that logs pi in comes from a `Match user pi` block that does not
// apply to the host's user. ssh_config's HashKnownHosts yes hashes the
// key recorded on first contact, and OpenSSH's ssh-keygen finds it.
func TestBootstrapReadsSSHConfigForItsUser(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{SSHPort: 2222})
	home := t.TempDir()
	t.Setenv("HOME", home)
	sshDir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sshDir, "config"), fmt.Sprintf(`Host mypi
  HostName %s
  Port 1
  User alice
  HashKnownHosts yes
Match originalhost mypi user pi
  IdentityFile %s
`, h.Addr, h.KeyFile))
	dir := aliasPlan(t, "mypi", fmt.Sprintf("  bootstrap {\n    port = %d\n    user = \"pi\"\n  }\n", h.Port), "bootstrap\n")

	r := hako(t, "plan", "-v", "-accept-new-host-keys", dir)
	if r.code != 0 {
		t.Fatalf("plan failed:\n%s", r)
	}
	mustContain(t, r, "port 1 refused the connection; connecting with the bootstrap settings instead (pi@"+h.Addr,
		"+ file.mark", `host "pi": bootstrap connection settings`)
	if !hasLine(r.stderr, "identityfile", h.KeyFile, "ssh_config") || !hasLine(r.stderr, "hashknownhosts", "yes", "ssh_config") {
		t.Errorf("-v does not show the bootstrap key or HashKnownHosts from ssh_config:\n%s", r.stderr)
	}
	kh := filepath.Join(sshDir, "known_hosts")
	got := readFile(t, kh)
	if !strings.HasPrefix(got, "|1|") || strings.Contains(got, h.Addr) || strings.Count(got, "\n") != 1 {
		t.Fatalf("known_hosts, want one hashed entry:\n%s", got)
	}
	name := fmt.Sprintf("[%s]:%d", h.Addr, h.Port)
	out, err := exec.Command("ssh-keygen", "-F", name, "-f", kh).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Host "+name+" found") {
		t.Errorf("ssh-keygen -F %s: %v\n%s", name, err, out)
	}
}
