// Package testhost starts real Debian bookworm hosts on this machine for hako's end-to-end
// tests: each one is a freshly flashed Raspberry Pi OS Lite look-alike (user pi with
// passwordless sudo, new SSH host keys; on an InitNM host NetworkManager and a user of another
// name) in its own network namespace, running the real OpenSSH sshd. The work is done by the script testhost/hakotesthost at the top of the repository;
// this package calls it and ties each host's life to a test.
//
// Hosts need root and a root filesystem built once with `testhost/hakotesthost rootfs`.
// Tests call Require first, which skips them when hosts cannot run here (or fails them when
// HAKO_E2E_REQUIRED=1, as CI sets it).
package testhost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Options configure a host.
type Options struct {
	// SSHPort is the port sshd listens on (its sshd_config says so); 0 means 22.
	SSHPort int
	// Init is what runs as the host's PID 1. "" or "lite" (the default): a tiny shell init
	// that makes the SSH host keys and starts sshd with /etc/init.d/ssh; no systemd, no
	// systemctl, no journal; ready in ~0.8 s. "systemd": /lib/systemd/systemd --system, with
	// dbus, logind and a volatile journal, sshd as the enabled ssh.service; its image is built
	// on first use when `hakotesthost rootfs` has not built it. "nm": the systemd host with
	// NetworkManager running, as Raspberry Pi Imager leaves a bookworm card: the connection
	// "preconfigured" (a keyfile, mode 0600) holds eth0's lab addresses, and the login user is
	// NMUser, not pi (there is no pi); Start returns once NetworkManager has finished starting.
	Init string
}

// The values of Options.Init.
const (
	InitLite    = "lite"
	InitSystemd = "systemd"
	InitNM      = "nm"
)

// NMUser is the login user of an InitNM host: the name the person chose in Imager.
const NMUser = "ada"

// Host is a running test host.
type Host struct {
	Name    string // harness name, unique on this machine
	Addr    string // IPv4 address on the lab bridge, reachable from this machine
	Addr6   string // IPv6 address on the lab bridge
	Port    int    // sshd's port
	User    string // "pi", or NMUser on an InitNM host
	KeyFile string // private key (OpenSSH format) that User accepts
	Init    string // InitLite, InitSystemd or InitNM

	t       testing.TB
	stopped atomic.Bool
}

const (
	startTimeout = 2 * time.Minute
	// A systemd or nm host's first start may build its image (~10 s each, more on a cold
	// package cache).
	startSystemdTimeout = 10 * time.Minute
	stopTimeout         = time.Minute
)

// Available reports why real test hosts cannot run here, or nil when they can. It only looks
// at files and the process's own credentials, so it is cheap.
func Available() error {
	if runtime.GOOS != "linux" {
		return errors.New("test hosts need Linux")
	}
	if os.Geteuid() != 0 {
		return errors.New("test hosts need root (network namespaces, mounts)")
	}
	if err := haveCapabilities(); err != nil {
		return err
	}
	script, err := scriptPath()
	if err != nil {
		return err
	}
	if st, err := os.Stat(script); err != nil || st.Mode()&0o111 == 0 {
		return fmt.Errorf("harness script %s missing or not executable", script)
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "flock", "mount", "zstd", "tar", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (run `%s deps`)", tool, script)
		}
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return errors.New("kernel without network namespaces")
	}
	if fs, err := os.ReadFile("/proc/filesystems"); err != nil || !bytes.Contains(fs, []byte("\toverlay\n")) {
		return errors.New("kernel without overlayfs")
	}
	if _, err := os.Stat(tarball()); err != nil {
		return fmt.Errorf("root filesystem %s not built (run `%s rootfs`)", tarball(), script)
	}
	return nil
}

// haveCapabilities checks that being root here is enough: a container may take capabilities
// away from root.
func haveCapabilities() error {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return fmt.Errorf("CapEff: %v", err)
		}
		for _, c := range []struct {
			bit  uint
			name string
		}{{12, "CAP_NET_ADMIN"}, {18, "CAP_SYS_CHROOT"}, {21, "CAP_SYS_ADMIN"}, {27, "CAP_MKNOD"}} {
			if caps&(1<<c.bit) == 0 {
				return fmt.Errorf("root lacks %s here", c.name)
			}
		}
		return nil
	}
	return errors.New("no CapEff in /proc/self/status")
}

// Require skips the test when test hosts cannot run here, or fails it when the environment
// variable HAKO_E2E_REQUIRED is 1, so that CI cannot pass by skipping.
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv("HAKO_E2E_REQUIRED") == "1" {
		t.Fatalf("real test hosts required (HAKO_E2E_REQUIRED=1) but unavailable: %v", err)
	}
	t.Skipf("real test hosts unavailable: %v", err)
}

var hostSeq atomic.Int64

// Start starts a fresh host named after the test and stops it when the test ends. It fails the
// test, with the host's log, when the host does not come up.
func Start(t testing.TB, opts Options) *Host {
	t.Helper()
	if err := Available(); err != nil {
		t.Fatalf("testhost: %v", err)
	}
	port := opts.SSHPort
	if port == 0 {
		port = 22
	}
	pid1, timeout, user := opts.Init, startTimeout, "pi"
	switch pid1 {
	case "", InitLite:
		pid1 = InitLite
	case InitSystemd:
		timeout = startSystemdTimeout
	case InitNM:
		timeout, user = startSystemdTimeout, NMUser
	default:
		t.Fatalf("testhost: unknown Init %q (want %q, %q or %q)", opts.Init, InitLite, InitSystemd, InitNM)
	}
	key, err := acquireClientKey()
	if err != nil {
		t.Fatalf("testhost: client key: %v", err)
	}
	h := &Host{Name: hostName(t.Name(), os.Getpid(), hostSeq.Add(1)), User: user, KeyFile: key.private, Init: pid1, t: t}
	t.Cleanup(func() {
		if t.Failed() && !h.stopped.Load() {
			if out, err := run(stopTimeout, "log", h.Name); err == nil {
				t.Logf("testhost: log of %s:\n%s", h.Name, out)
			}
		}
		h.Stop(t)
		releaseClientKey()
	})

	out, err := run(timeout, "start", h.Name, "--init", pid1, "--ssh-port", strconv.Itoa(port), "--authorized-key", key.public)
	if err != nil {
		t.Fatalf("testhost: start %s: %v", h.Name, err)
	}
	if err := h.parseAddr(out); err != nil {
		t.Fatalf("testhost: start %s: %v", h.Name, err)
	}
	return h
}

// parseAddr reads the script's "NAME ADDR PORT ADDR6" line (the last line of its output).
func (h *Host) parseAddr(out string) error {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) != 4 || f[0] != h.Name {
		return fmt.Errorf("unexpected output %q", out)
	}
	port, err := strconv.Atoi(f[2])
	if err != nil {
		return fmt.Errorf("unexpected port in %q", out)
	}
	h.Addr, h.Port, h.Addr6 = f[1], port, f[3]
	return nil
}

// Stop stops the host now (Start arranges it for the end of the test anyway). It is idempotent.
func (h *Host) Stop(t testing.TB) {
	t.Helper()
	if h.stopped.Swap(true) {
		return
	}
	if _, err := run(stopTimeout, "stop", h.Name); err != nil {
		t.Errorf("testhost: stop %s: %v", h.Name, err)
	}
}

// HostKeyLine returns the host's ed25519 public host key, "ssh-ed25519 AAAA...". It is read
// afresh each time, so it follows a host whose keys were regenerated.
func (h *Host) HostKeyLine() string {
	h.t.Helper()
	out, err := run(stopTimeout, "hostkey", h.Name)
	if err != nil {
		h.t.Fatalf("testhost: hostkey %s: %v", h.Name, err)
	}
	return strings.TrimSpace(out)
}

// Exec runs cmd with /bin/sh as root inside the host, without SSH. It fails the test when cmd
// exits non-zero and returns its standard output.
func (h *Host) Exec(t testing.TB, cmd string) string {
	t.Helper()
	c := exec.Command(mustScript(t), "exec", h.Name, "/bin/sh", "-c", cmd)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	c.WaitDelay = 5 * time.Second
	if err := c.Run(); err != nil {
		t.Fatalf("testhost: exec on %s: %q: %v\nstdout:\n%s\nstderr:\n%s", h.Name, cmd, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// ExecInput is Exec with stdin as the command's standard input: a secret a test puts on the
// host travels there, never on a command line inside the host (which ps shows).
func (h *Host) ExecInput(t testing.TB, stdin, cmd string) string {
	t.Helper()
	c := exec.Command(mustScript(t), "exec", h.Name, "/bin/sh", "-c", cmd)
	c.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	c.WaitDelay = 5 * time.Second
	if err := c.Run(); err != nil {
		t.Fatalf("testhost: exec on %s: %q: %v\nstdout:\n%s\nstderr:\n%s", h.Name, cmd, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// LocalAptRepo builds tiny packages with the given names inside the host (each installs only
// /usr/share/doc/NAME/hello; version 1.0, or VERSION for "NAME=VERSION"; Architecture all, no
// dependencies) into a local repository /srv/hako-apt, and lists it in
// /etc/apt/sources.list.d/hako-local.list as `deb [trusted=yes] file:/srv/hako-apt ./`. It does
// not run apt-get update: apt knows of the packages only after an update. Calling it again adds
// packages (or versions) to the same repository.
func (h *Host) LocalAptRepo(t testing.TB, pkgs ...string) {
	t.Helper()
	if len(pkgs) == 0 {
		t.Fatalf("testhost: LocalAptRepo on %s: no packages", h.Name)
	}
	if _, err := run(stopTimeout, append([]string{"apt-repo", h.Name}, pkgs...)...); err != nil {
		t.Fatalf("testhost: %v", err)
	}
}

// AddPPPStandIn adds a stand-in for the ppp0 interface that pppd would make (this kernel has
// neither PPP nor the dummy driver): one end of a veth pair named ppp0 (the other end,
// veth-ppp0, is in the host too), up, MTU 1492, no ARP, no address; as pppd leaves a PPPoE
// link before it runs /etc/ppp/ip-up. The test gives it addresses (ip addr add L peer R dev
// ppp0) if it needs them, and removes it with `ip link del ppp0` to imitate the link going down.
// It fails the test when the host already has a ppp0.
func (h *Host) AddPPPStandIn(t testing.TB) {
	t.Helper()
	if _, err := run(stopTimeout, "ppp-standin", h.Name); err != nil {
		t.Fatalf("testhost: %v", err)
	}
}

// Log returns the host's console and sshd logs.
func (h *Host) Log(t testing.TB) string {
	t.Helper()
	out, err := run(stopTimeout, "log", h.Name)
	if err != nil {
		t.Fatalf("testhost: log %s: %v", h.Name, err)
	}
	return out
}

// script locations and the script runner

func scriptPath() (string, error) {
	if p := os.Getenv("HAKO_TESTHOST_SCRIPT"); p != "" {
		return p, nil
	}
	rel := filepath.Join("testhost", "hakotesthost")
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Join(filepath.Dir(file), "..", "..", rel), nil
	}
	// Built with -trimpath: the source path is gone, but go test runs in the package's
	// directory, somewhere below the repository root.
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, rel)); err == nil {
			return filepath.Join(dir, rel), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find " + rel + " (set HAKO_TESTHOST_SCRIPT)")
		}
		dir = parent
	}
}

func mustScript(t testing.TB) string {
	t.Helper()
	p, err := scriptPath()
	if err != nil {
		t.Fatalf("testhost: %v", err)
	}
	return p
}

func tarball() string {
	dir := os.Getenv("HAKO_TESTHOST_CACHE")
	if dir == "" {
		dir = "/var/cache/hako-testhost"
	}
	return filepath.Join(dir, "bookworm-lite.tar.zst")
}

// run runs the script and returns its standard output; the error carries its standard error,
// which holds the host's log when a start fails.
func run(timeout time.Duration, args ...string) (string, error) {
	script, err := scriptPath()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, script, args...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	// A host process holding our pipes must not hang the test.
	c.WaitDelay = 5 * time.Second
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\n%s", filepath.Base(script), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// hostName makes a short name, unique on the machine, from a test name: the test name's letters
// and digits, the process ID and a counter.
func hostName(testName string, pid int, seq int64) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimPrefix(testName, "Test")) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 16 {
			break
		}
	}
	base := strings.TrimSuffix(b.String(), "-")
	if base == "" {
		base = "host"
	}
	return fmt.Sprintf("%s-%d-%d", base, pid, seq)
}

// BootID identifies the host's current boot: the start time of its PID 1, in clock ticks
// since this machine booted. A reboot of the host (`systemctl reboot` on a systemd or nm host,
// which the harness boots again) starts a new PID 1; the kernel is this machine's, so its
// /proc/sys/kernel/random/boot_id stays the same.
func (h *Host) BootID(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(h.Exec(t, "cut -d' ' -f22 /proc/1/stat"))
}

// WaitRebooted waits until the host runs a boot other than old (a BootID) and, on a systemd
// or nm host, systemd has finished starting it (running or degraded); it fails the test when
// that takes longer than timeout. While the host reboots it has no PID 1, and exec fails.
func (h *Host) WaitRebooted(t testing.TB, old string, timeout time.Duration) {
	t.Helper()
	check := "cut -d' ' -f22 /proc/1/stat"
	if h.Init != InitLite {
		check += "; systemctl is-system-running --wait"
	}
	deadline := time.Now().Add(timeout)
	for {
		c := exec.Command(mustScript(t), "exec", h.Name, "/bin/sh", "-c", check)
		c.WaitDelay = 5 * time.Second
		out, _ := c.Output() // non-zero while there is no PID 1, and for degraded
		f := strings.Fields(string(out))
		if len(f) > 0 && f[0] != old && (h.Init == InitLite || len(f) == 2 && (f[1] == "running" || f[1] == "degraded")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testhost: %s did not come back from its reboot within %v (last: %q)", h.Name, timeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
