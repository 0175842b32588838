//go:build linux

package bench

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/hakobin"
	"github.com/hako-dev/hako/internal/sshtest"
)

// BenchmarkManyHosts measures what hako itself costs per host: it runs the
// hako binary against HAKO_BENCH_HOSTS (200,1000 by default) in-process SSH
// servers of this benchmark, HAKO_BENCH_PARALLEL at once (default: hako's) (strict known_hosts, one directory and one
// file task a host), and reads the CPU time and peak memory of the hako
// process alone from the kernel (wait4's rusage): the servers' work, and
// the shell commands they run for hako, are this process's and its
// children's, not hako's. A one-host run of the same plan is the fixed
// cost; per host is what N hosts add, over N.
//
//	go test -run '^$' -bench ManyHosts -benchtime 1x -timeout 0 ./bench/
func BenchmarkManyHosts(b *testing.B) {
	bin, err := hakobin.Build(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv("SSH_AUTH_SOCK", "")
	u, err := user.Current()
	if err != nil {
		b.Fatal(err)
	}
	one := manyHostsRun(b, bin, u.Username, 1)
	for _, n := range hostCounts(b) {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var noop hakoCost
			for b.Loop() {
				noop = manyHostsRun(b, bin, u.Username, n)
			}
			cpu := float64(noop.cpu-one.cpu) / float64(time.Millisecond) / float64(n-1)
			mem := float64(noop.maxRSS-one.maxRSS) / (1 << 20) / float64(n-1)
			b.ReportMetric(cpu, "cpu-ms/host")
			fmt.Printf("%d hosts, no-op apply: %v wall, hako %v CPU, peak RSS %.1f MiB (one host: %v CPU, %.1f MiB); per host: %.2f ms CPU, %.3f MiB\n",
				n, noop.wall.Round(time.Millisecond), noop.cpu.Round(time.Millisecond), float64(noop.maxRSS)/(1<<20),
				one.cpu.Round(time.Millisecond), float64(one.maxRSS)/(1<<20), cpu, mem)
			record(b, Result{Case: fmt.Sprintf("%d in-process hosts, no-op apply, -parallel %s", n, cmp.Or(os.Getenv("HAKO_BENCH_PARALLEL"), "default (32)")),
				Hako: noop.wall, Extra: fmt.Sprintf("hako per host: %.2f ms CPU, %.3f MiB peak RSS", cpu, mem)})
		})
	}
}

// hakoCost is what one hako run cost this machine.
type hakoCost struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
}

// manyHostsRun starts n servers that have what the plan says, and measures
// a no-op apply.
func manyHostsRun(b *testing.B, bin, login string, n int) hakoCost {
	b.Helper()
	b.StopTimer()
	dir := b.TempDir()
	// Hosts without systemd, as the lite test hosts: systemctl is slow to
	// fail on a machine without systemd, and that would be the
	// simulated hosts' cost, not hako's.
	fleet := sshtest.StartFleet(b, dir, n, sshtest.WithEnv("PATH="+sshtest.PathWithout(b, "systemctl")))
	// The hosts share this machine's file system: their parent folder is
	// made here, or they would all race to make it.
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		b.Fatal(err)
	}
	src := fleet.HostBlocks(login) + fmt.Sprintf(`task "directory" "d" {
  path = "%s/${host.name}"
}
task "file" "conf" {
  path    = "%s/${host.name}/conf"
  content = "name = ${host.name}\n"
}
`, root, root)
	planDir := filepath.Join(dir, "plan")
	if err := os.Mkdir(planDir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(planDir, "plan.hcl"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	// The hosts have what the plan says already (a first apply would
	// cost the simulated hosts three times a no-op's work, and measure
	// the same of hako).
	for i := range n {
		d := filepath.Join(root, fmt.Sprintf("h%d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "conf"), fmt.Appendf(nil, "name = h%d\n", i), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// The servers answer slowly while hundreds of hosts start at once on
	// a loaded machine; that is their cost, not hako's.
	apply := func() hakoCost {
		args := []string{"apply", "-connect-timeout", "2m", "-F", "/dev/null", planDir}
		if p := os.Getenv("HAKO_BENCH_PARALLEL"); p != "" {
			args = append(args, "-parallel", p)
		}
		cmd := exec.Command(bin, args...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		wall := time.Since(start)
		if err != nil {
			b.Fatalf("apply to %d hosts: %v\n%s", n, err, tail(out))
		}
		if changed := regexp.MustCompile(`changed=[1-9]`).Find(out); changed != nil {
			b.Fatalf("apply to %d hosts was not a no-op:\n%s", n, tail(out))
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		return hakoCost{wall: wall, cpu: time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime)),
			maxRSS: ru.Maxrss << 10}
	}
	b.StartTimer()
	return apply()
}

func tail(out []byte) string {
	lines := strings.Split(string(out), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// hostCounts are HAKO_BENCH_HOSTS (200,1000 by default).
func hostCounts(t testing.TB) []int {
	var out []int
	for _, f := range strings.Split(cmp.Or(os.Getenv("HAKO_BENCH_HOSTS"), "200,1000"), ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 2 {
			t.Fatalf("HAKO_BENCH_HOSTS: %q is not a count of 2 or more", f)
		}
		out = append(out, n)
	}
	return out
}
