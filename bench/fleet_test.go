package bench

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/hakobin"
	"github.com/hako-dev/hako/internal/testhost"
)

// BenchmarkFleet times a no-op `hako apply -parallel N` of
// examples/quickstart's tasks on N real test hosts at once (lite init;
// HAKO_BENCH_FLEET, 20 by default) against its floor: OpenSSH's
// `ssh host true` run to all N hosts at once (N concurrent ssh processes,
// the wall time until the last one ends), medians of rounds measured in
// the same run.
//
//	sudo go test -run '^$' -bench Fleet -benchtime 1x -timeout 0 ./bench/
func BenchmarkFleet(b *testing.B) {
	testhost.Require(b)
	n, err := strconv.Atoi(cmp.Or(os.Getenv("HAKO_BENCH_FLEET"), "20"))
	if err != nil || n < 1 {
		b.Fatalf("HAKO_BENCH_FLEET: %q is not a number of hosts", os.Getenv("HAKO_BENCH_FLEET"))
	}
	bin, err := hakobin.Build(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	fleet := make([]*testhost.Host, n)
	for i := range fleet {
		fleet[i] = testhost.Start(b, testhost.Options{})
	}
	dir := fleetPlan(b, fleet)
	args := []string{"apply", "-parallel", strconv.Itoa(n), "-F", "/dev/null", "-var", "address=unused", "-var", "token=bench", dir}
	apply := func() {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			b.Fatalf("apply: %v\n%s", err, out)
		}
	}
	apply() // converge; every later run is a no-op
	sshAll := func() time.Duration {
		cmds := make([]*exec.Cmd, n)
		for i, h := range fleet {
			cmds[i] = h.SSHCommand(b, "true")
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := time.Now()
		for i, c := range cmds {
			wg.Go(func() { errs[i] = c.Run() })
		}
		wg.Wait()
		ssh := time.Since(start)
		for i, err := range errs {
			if err != nil {
				b.Fatalf("ssh true to %s: %v", fleet[i].Name, err)
			}
		}
		return ssh
	}
	one := timeMedian(benchRounds(b), func() {
		if _, code := fleet[0].SSH(b, "true"); code != 0 {
			b.Fatal("ssh true failed")
		}
	})
	var hakoTimes, floorTimes []time.Duration
	rounds := benchRounds(b)
	for range rounds { // interleaved, so that a change in load weighs on both
		floorTimes = append(floorTimes, sshAll())
		start := time.Now()
		apply()
		hakoTimes = append(hakoTimes, time.Since(start))
	}
	for b.Loop() { // the benchmark's own figure: one more no-op apply
		apply()
	}
	floor, hako := median(floorTimes), median(hakoTimes)
	ratio := float64(hako) / float64(floor)
	b.ReportMetric(ratio, "x-ssh-true-all")
	fmt.Printf("%d hosts, no-op apply -parallel %d: %v; ssh true to all at once %v (%.2fx); one ssh true %v (hako %.1fx of it)\n",
		n, n, hako.Round(time.Millisecond), floor.Round(time.Millisecond), ratio, one.Round(time.Millisecond), float64(hako)/float64(one))
	record(b, withTarget(Result{Case: fmt.Sprintf("%d hosts, no-op apply of examples/quickstart, -parallel %d; floor: ssh true to all %d at once", n, n, n),
		Hako: hako, Floor: floor, Extra: fmt.Sprintf("%.1fx one ssh true (%v)", float64(hako)/float64(one), one.Round(time.Millisecond))}, 1.0))
}

var quickstartHost = regexp.MustCompile(`(?s)\nhost "pi" \{.*?\n\}\n`)

// fleetPlan is examples/quickstart with one host block for each of fleet
// in place of its one host "pi".
func fleetPlan(t testing.TB, fleet []*testhost.Host) string {
	t.Helper()
	src, err := os.ReadFile("../examples/quickstart/plan.hcl")
	if err != nil {
		t.Fatal(err)
	}
	var hostBlocks strings.Builder
	for i, h := range fleet {
		fmt.Fprintf(&hostBlocks, `
host "pi%d" {
  address       = %q
  port          = %d
  user          = "pi"
  identity_file = %q
  known_hosts   = %q
  become        = true
}
`, i, h.Addr, h.Port, h.KeyFile, h.KnownHostsFile(t))
	}
	if !quickstartHost.Match(src) {
		t.Fatal(`examples/quickstart/plan.hcl: no host "pi" block to replace`)
	}
	out := quickstartHost.ReplaceAllLiteral(src, []byte(hostBlocks.String()))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plan.hcl"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "templates"), os.DirFS("../examples/quickstart/templates")); err != nil {
		t.Fatal(err)
	}
	return dir
}
