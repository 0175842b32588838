package testhost

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHostIsAFreshPi(t *testing.T) {
	Require(t)
	t0 := time.Now()
	h := Start(t, Options{})
	t.Logf("%s ready at %s:%d in %v", h.Name, h.Addr, h.Port, time.Since(t0))

	if out, code := h.SSH(t, "sudo -n id -u"); code != 0 || out != "0\n" {
		t.Errorf("ssh sudo -n id -u = %q, exit %d; want \"0\\n\", 0", out, code)
	}
	if out := h.Exec(t, "hostname"); out != "raspberrypi\n" {
		t.Errorf("hostname = %q, want raspberrypi", out)
	}
	h.Exec(t, "test -x /usr/sbin/ufw && test -x /usr/lib/openssh/sftp-server")
	h.Exec(t, "/usr/sbin/sshd -t")
	if out := h.Exec(t, "stat -c '%u %a' /etc/sudoers.d/010_pi-nopasswd /home/pi/.ssh /home/pi/.ssh/authorized_keys"); out != "0 440\n1000 700\n1000 600\n" {
		t.Errorf("owners and modes = %q", out)
	}

	t0 = time.Now()
	h.Stop(t)
	t.Logf("%s stopped in %v", h.Name, time.Since(t0))
	if out, err := exec.Command("ip", "netns", "list").Output(); err != nil || strings.Contains(string(out), h.Name) {
		t.Errorf("network namespace of %s left behind (err %v):\n%s", h.Name, err, out)
	}
	if mounts, err := os.ReadFile("/proc/self/mountinfo"); err != nil || strings.Contains(string(mounts), h.Name) {
		t.Errorf("mounts of %s left behind (err %v)", h.Name, err)
	}
	h.Stop(t) // idempotent
}

// Two hosts up at the same time, started concurrently, one on a non-default SSH port: they get
// different addresses and different host keys, and OpenSSH reaches each one.
func TestTwoHostsInParallel(t *testing.T) {
	Require(t)
	type seen struct{ addr, key string }
	var (
		mu    sync.Mutex
		hosts = map[int]seen{}
		both  sync.WaitGroup
	)
	both.Add(2)
	t.Run("group", func(t *testing.T) {
		for _, port := range []int{22, 2222} {
			t.Run("port"+strconv.Itoa(port), func(t *testing.T) {
				t.Parallel()
				var once sync.Once
				defer once.Do(both.Done) // also when Start fails, so the other does not wait forever
				h := Start(t, Options{SSHPort: port})
				if h.Port != port {
					t.Errorf("port = %d, want %d", h.Port, port)
				}
				if out, code := h.SSH(t, "echo ok"); code != 0 || out != "ok\n" {
					t.Errorf("ssh echo ok = %q, exit %d", out, code)
				}
				mu.Lock()
				hosts[port] = seen{h.Addr, h.HostKeyLine()}
				mu.Unlock()
				once.Do(both.Done)
				both.Wait() // keep this host up until the other one is up too
			})
		}
	})
	if t.Failed() {
		return
	}
	a, b := hosts[22], hosts[2222]
	if a.addr == b.addr {
		t.Errorf("both hosts at %s", a.addr)
	}
	if a.key == b.key || !strings.HasPrefix(a.key, "ssh-ed25519 ") {
		t.Errorf("host keys %q and %q: want two different ed25519 keys", a.key, b.key)
	}
}

func TestKnownHostsLineForm(t *testing.T) {
	Require(t)
	h := Start(t, Options{SSHPort: 2200})
	kh, err := os.ReadFile(h.KnownHostsFile(t))
	if err != nil {
		t.Fatal(err)
	}
	want := "[" + h.Addr + "]:2200,[" + h.Addr6 + "]:2200 " + h.HostKeyLine() + "\n"
	if string(kh) != want {
		t.Errorf("known_hosts = %q, want %q", kh, want)
	}
	// OpenSSH accepts the host with this file and refuses it without.
	if _, code := h.SSH(t, "true"); code != 0 {
		t.Errorf("ssh with the right known_hosts: exit %d", code)
	}
	args := h.sshArgs("/dev/null", "true")
	if err := exec.Command("ssh", args...).Run(); err == nil {
		t.Errorf("ssh with an empty known_hosts file succeeded")
	}
}

func TestHostName(t *testing.T) {
	for _, c := range []struct{ test, want string }{
		{"TestFoo", "foo-42-7"},
		{"TestTwoHostsInParallel/port2222", "twohostsinparall-42-7"},
		{"Test/sub test#01", "sub-test-01-42-7"},
		{"Test", "host-42-7"},
	} {
		if got := hostName(c.test, 42, 7); got != c.want {
			t.Errorf("hostName(%q) = %q, want %q", c.test, got, c.want)
		}
	}
}
