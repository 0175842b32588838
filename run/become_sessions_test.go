package run

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/plantest"
	"github.com/hako-dev/hako/internal/sshtest"
)

// passwordlessSudo stands for a sudo that asks for no password: it drops
// its options and runs the command (as this process's user), and logs its
// arguments to SUDO_LOG.
const passwordlessSudo = `#!/bin/sh
printf '%s\n' "$*" >>"$SUDO_LOG"
while [ $# -gt 0 ]; do
  case $1 in
    -u|-p) shift ;;
    --) shift; break ;;
    -*) ;;
    *) break ;;
  esac
  shift
done
exec "$@"
`

// A no-op apply with become, where sudo asks for no password, starts one
// command on the host: the probe, which also finds out that sudo needs no
// password. Finding that out costs no session (and no sudo) of its own,
// nor do the facts that a task's when reads: they come with the probe.
func TestNoOpApplyWithBecomeIsOneSession(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(passwordlessSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(bin, "sudo.log")
	fleet := sshtest.StartFleet(t, t.TempDir(), 1,
		sshtest.WithEnv("PATH="+bin+string(os.PathListSeparator)+sshtest.PathWithout(t, "systemctl"), "SUDO_LOG="+log))
	root := t.TempDir()
	src := strings.Replace(fleet.HostBlocks(localUser(t)), "}\n", "  become        = true\n}\n", 1) + `task "directory" "d" {
  path = "` + root + `/d"
}
task "file" "conf" {
  path    = "` + root + `/d/conf"
  content = "setting\n"
}
task "file" "arch" {
  path    = "` + root + `/d/arch"
  content = "arch\n"
  when    = host.facts.arch != "no-such-arch"
}
`
	// As planned already: a write would need an sftp-server, which this
	// machine may lack.
	if err := os.Mkdir(filepath.Join(root, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"conf": "setting\n", "arch": "arch\n"} {
		if err := os.WriteFile(filepath.Join(root, "d", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := plantest.Build(t, src)
	r := Apply(context.Background(), p, Options{}, &recorder{})[0]
	if r.Unreachable != nil || r.Failed != 0 || r.OK != 3 {
		t.Fatalf("no-op apply: %+v %v", r, r.Unreachable)
	}
	calls, err := os.ReadFile(log)
	if err != nil || !strings.Contains(string(calls), "-n -- env HAKO_RUN=") {
		t.Fatalf("the probe did not go through sudo -n: %q %v", calls, err)
	}
	if n := fleet.Servers[0].Execs.Load(); n != 1 {
		t.Errorf("no-op apply with become: %d commands started on the host, want 1 (the probe); sudo calls:\n%s", n, calls)
	}
}
