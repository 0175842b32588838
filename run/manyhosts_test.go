package run

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/hako-dev/hako/internal/plantest"
	"github.com/hako-dev/hako/internal/sshtest"
)

// manyHostsPlan starts n in-process SSH servers and returns a plan with one
// host for each (strict known_hosts naming exactly their keys) and two
// tasks on each host, in the host's own folder under the returned root.
func manyHostsPlan(t *testing.T, n int) (src, root string) {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "") // only the key the plan names
	root = t.TempDir()
	// Hosts without systemd, as the lite test hosts: systemctl, which
	// the probe asks when it is there, is slow to fail on a machine
	// without systemd, and hundreds of hosts here share its two CPUs.
	fleet := sshtest.StartFleet(t, t.TempDir(), n, sshtest.WithEnv("PATH="+sshtest.PathWithout(t, "systemctl")))
	return fleet.HostBlocks(localUser(t)) + fmt.Sprintf(`task "directory" "d" {
  path = "%s/${host.name}"
}
task "file" "conf" {
  path    = "%s/${host.name}/conf"
  content = "name = ${host.name}\n"
}
`, root, root), root
}

// localUser is this process's user: the in-process servers run commands
// as it, and the plan's lockout checks want the login user to exist.
func localUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// TestTwoHundredHostsConverge applies a plan of 200 hosts (in-process SSH
// servers, strict host keys) with the default -parallel: every host
// converges, and a second apply changes nothing anywhere.
func TestTwoHundredHostsConverge(t *testing.T) {
	if testing.Short() {
		// A minute or more: every host's probe starts a few dozen
		// processes on this machine.
		t.Skip("200 SSH servers")
	}
	const n = 200
	src, root := manyHostsPlan(t, n)
	p := plantest.Build(t, src)
	if got := DefaultParallel(n); got != MaxDefaultParallel {
		t.Fatalf("DefaultParallel(%d) = %d, want %d (open-file limit %d)", n, got, MaxDefaultParallel, openFileLimit())
	}
	for round, want := range []string{"changed", "ok"} {
		rec := &recorder{}
		recaps := Apply(context.Background(), p, Options{}, rec)
		for i, r := range recaps {
			if r.Unreachable != nil || r.Failed != 0 {
				t.Fatalf("apply %d: host %s: %+v %v", round+1, r.Host, r, r.Unreachable)
			}
			if r.Host != fmt.Sprintf("h%d", i) {
				t.Fatalf("recap %d is of host %s", i, r.Host)
			}
			if (want == "changed" && r.Changed != 2) || (want == "ok" && r.OK != 2) {
				t.Errorf("apply %d: host %s: %+v, want both tasks %s", round+1, r.Host, r, want)
			}
		}
	}
	for i := range n {
		name := fmt.Sprintf("h%d", i)
		b, err := os.ReadFile(filepath.Join(root, name, "conf"))
		if err != nil || string(b) != "name = "+name+"\n" {
			t.Fatalf("host %s: conf %q, %v", name, b, err)
		}
	}
}

func TestDefaultParallel(t *testing.T) {
	for _, c := range []struct {
		hosts  int
		nofile uint64
		want   int
	}{
		{1, 1 << 20, 1},
		{5, 1 << 20, 5},
		{200, 1 << 20, MaxDefaultParallel},
		{200, 0, MaxDefaultParallel}, // limit unknown
		{200, 1024, MaxDefaultParallel},
		{200, fdReserve + 10*fdsPerHost, 10}, // a low limit leaves room for 10
		{200, 20, 1},                         // no room at all: still one at a time
		{0, 1024, 1},
	} {
		if got := defaultParallel(c.hosts, c.nofile); got != c.want {
			t.Errorf("defaultParallel(%d hosts, nofile %d) = %d, want %d", c.hosts, c.nofile, got, c.want)
		}
	}
}
