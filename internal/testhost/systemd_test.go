package testhost

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A systemd host: systemd is PID 1, sshd is the active ssh.service, the system reaches
// running (or degraded), `systemctl restart ssh` keeps an open session alive, and stopping
// the host leaves no process, cgroup, mount or network namespace behind.
func TestSystemdHost(t *testing.T) {
	Require(t)
	t0 := time.Now()
	h := Start(t, Options{Init: InitSystemd})
	t.Logf("%s (systemd) ready at %s:%d in %v", h.Name, h.Addr, h.Port, time.Since(t0))
	if h.Init != InitSystemd {
		t.Errorf("Init = %q, want %q", h.Init, InitSystemd)
	}

	if out := h.Exec(t, "cat /proc/1/comm"); out != "systemd\n" {
		t.Errorf("PID 1 is %q, want systemd", out)
	}
	if out := h.Exec(t, "systemctl is-active ssh"); out != "active\n" {
		t.Errorf("systemctl is-active ssh = %q", out)
	}
	if out := h.Exec(t, "systemctl is-enabled ssh"); out != "enabled\n" {
		t.Errorf("systemctl is-enabled ssh = %q", out)
	}
	state := h.Exec(t, "systemctl is-system-running --wait || true")
	t.Logf("system %s %v after start", strings.TrimSpace(state), time.Since(t0))
	if state != "running\n" && state != "degraded\n" {
		t.Errorf("systemctl is-system-running = %q, want running or degraded", state)
	}
	if state == "degraded\n" {
		t.Logf("failed units:\n%s", h.Exec(t, "systemctl --failed --no-pager"))
	}
	if out, code := h.SSH(t, "sudo -n id -u"); code != 0 || out != "0\n" {
		t.Errorf("ssh sudo -n id -u = %q, exit %d", out, code)
	}

	// An SSH session open across `systemctl restart ssh`.
	c := exec.Command("ssh", h.sshArgs(h.KnownHostsFile(t), "echo started; sleep 3; echo survived")...)
	var errOut bytes.Buffer
	c.Stderr = &errOut
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "started" {
		c.Process.Kill()
		c.Wait()
		t.Fatalf("session did not start: %q, stderr %s", lines.Text(), errOut.String())
	}
	// The login went through PAM and logind, as on a real Pi.
	if out := h.Exec(t, "loginctl list-sessions --no-legend"); !strings.Contains(out, " 1000 pi ") {
		t.Errorf("no logind session of pi while one is open:\n%s", out)
	}
	before := h.Exec(t, "systemctl show -p MainPID --value ssh")
	h.Exec(t, "systemctl restart ssh")
	after := h.Exec(t, "systemctl show -p MainPID --value ssh")
	if before == after {
		t.Errorf("sshd's main PID stayed %s across the restart", strings.TrimSpace(before))
	}
	rest := ""
	for lines.Scan() {
		rest += lines.Text() + "\n"
	}
	if err := c.Wait(); err != nil || rest != "survived\n" {
		t.Errorf("session across the restart: %v, output %q, stderr %s", err, rest, errOut.String())
	}
	if out, code := h.SSH(t, "echo new"); code != 0 || out != "new\n" {
		t.Errorf("new session after the restart: %q, exit %d", out, code)
	}

	pids := hostPIDs(t, h)
	if len(pids) == 0 {
		t.Fatalf("no processes in %s's network namespace", h.Name)
	}
	t0 = time.Now()
	h.Stop(t)
	t.Logf("%s stopped in %v", h.Name, time.Since(t0))
	for _, pid := range pids {
		// A zombie holds nothing, and its reaper may be this machine's init, in its own time.
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 0 && f[0] != "Z" {
			t.Errorf("process %d %s of %s survived the stop", pid, stat[:bytes.LastIndexByte(stat, ')')+1], h.Name)
		}
	}
	assertNoLeftovers(t, h)
}

// hostPIDs lists the processes in the host's network namespace, seen from here.
func hostPIDs(t *testing.T, h *Host) []int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", "hako-"+h.Name).Output()
	if err != nil {
		t.Fatalf("ip netns pids: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("ip netns pids: %q", out)
		}
		pids = append(pids, pid)
	}
	return pids
}

// assertNoLeftovers checks that a stopped host left no network namespace, mount or cgroup.
func assertNoLeftovers(t *testing.T, h *Host) {
	t.Helper()
	if out, err := exec.Command("ip", "netns", "list").Output(); err != nil || strings.Contains(string(out), h.Name) {
		t.Errorf("network namespace of %s left behind (err %v):\n%s", h.Name, err, out)
	}
	if mounts, err := os.ReadFile("/proc/self/mountinfo"); err != nil || strings.Contains(string(mounts), h.Name) {
		t.Errorf("mounts of %s left behind (err %v)", h.Name, err)
	}
	filepath.WalkDir("/sys/fs/cgroup", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a cgroup removed while we walk
		}
		if d.IsDir() && strings.Contains(d.Name(), h.Name) {
			t.Errorf("cgroup %s left behind", path)
			return filepath.SkipDir
		}
		return nil
	})
}

// `systemctl reboot` on a systemd host reboots it: the harness boots it again on the same disk
// (a file written before is there, /run is empty), with the same host key, and SSH works;
// stopping it afterwards leaves nothing behind (the shell that booted it again included).
func TestSystemdHostReboots(t *testing.T) {
	Require(t)
	h := Start(t, Options{Init: InitSystemd})
	h.Exec(t, "echo kept >/var/lib/hako-disk; touch /run/hako-gone")
	key, boot := h.HostKeyLine(), h.BootID(t)
	t0 := time.Now()
	h.Exec(t, "systemctl reboot")
	h.WaitRebooted(t, boot, 2*time.Minute)
	t.Logf("%s rebooted in %v", h.Name, time.Since(t0))
	if got := h.Exec(t, "cat /var/lib/hako-disk; test -e /run/hako-gone && echo run kept || true; cat /proc/1/comm; systemctl is-active ssh"); got != "kept\nsystemd\nactive\n" {
		t.Errorf("after the reboot: %q, want the file on disk, /run empty, systemd, ssh active", got)
	}
	if got := h.HostKeyLine(); got != key {
		t.Errorf("host key changed across the reboot: %s, was %s", got, key)
	}
	if out, code := h.SSH(t, "echo in"); code != 0 || out != "in\n" {
		t.Errorf("SSH after the reboot: exit %d, %q", code, out)
	}
	if log := h.Log(t); !strings.Contains(log, "rebooted; booting it again") {
		t.Errorf("the console log does not tell of the reboot:\n%s", log)
	}
	h.Stop(t)
	if out, err := exec.Command("ps", "-eo", "pid=,args=").Output(); err != nil || strings.Contains(string(out), h.Name) {
		t.Errorf("a process naming %s survived the stop (err %v):\n%s", h.Name, err, out)
	}
	assertNoLeftovers(t, h)
}
