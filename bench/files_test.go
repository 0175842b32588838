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
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/hakobin"
	"github.com/hako-dev/hako/internal/testhost"
)

// BenchmarkNoOpFiles times a no-op `hako plan` and `hako apply` of plans
// of many file tasks (ten files a folder) against `ssh host true` to the
// same host, measured in the same run, and counts the processes started
// on the host during one run (the host has its own PID namespace, so the
// last PID it handed out counts them; sshd's own for the login included).
//
//	sudo go test -run '^$' -bench NoOpFiles -benchtime 3x -timeout 0 ./bench/
//
// HAKO_BENCH_BIN names another hako binary to time instead of this tree's.
func BenchmarkNoOpFiles(b *testing.B) {
	testhost.Require(b)
	bin := os.Getenv("HAKO_BENCH_BIN") // another build of hako, to compare
	if bin == "" {
		var err error
		if bin, err = hakobin.Build(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	h := testhost.Start(b, testhost.Options{})
	for _, n := range benchSizes(b) {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := FilesPlan(b, h, n)
			hako := func(cmd string) {
				if out, err := exec.Command(bin, cmd, dir).CombinedOutput(); err != nil {
					b.Fatalf("%s: %v\n%s", cmd, err, out)
				}
			}
			hako("apply") // the host has the files already: a no-op
			procs := func(cmd string) int {
				before := LastPID(b, h)
				hako(cmd)
				return LastPID(b, h) - before
			}
			planProcs, applyProcs := procs("plan"), procs("apply")
			rounds := benchRounds(b)
			var floorTimes, planTimes, applyTimes []time.Duration
			for range rounds { // interleaved, so that a change in load weighs on all three
				floorTimes = append(floorTimes, timeMedian(1, func() {
					if _, code := h.SSH(b, "true"); code != 0 {
						b.Fatal("ssh true failed")
					}
				}))
				planTimes = append(planTimes, timeMedian(1, func() { hako("plan") }))
				applyTimes = append(applyTimes, timeMedian(1, func() { hako("apply") }))
			}
			for b.Loop() { // the benchmark's own figure
				hako("apply")
			}
			baseline, plan, apply := median(floorTimes), median(planTimes), median(applyTimes)
			b.ReportMetric(float64(apply)/float64(baseline), "x-ssh-true")
			fmt.Printf("%d file tasks: ssh true %v; no-op plan %v (%.1fx), %d processes on the host; no-op apply %v (%.1fx), %d processes\n",
				n, baseline.Round(time.Millisecond), plan.Round(time.Millisecond), float64(plan)/float64(baseline), planProcs,
				apply.Round(time.Millisecond), float64(apply)/float64(baseline), applyProcs)
			r := Result{Case: fmt.Sprintf("%d file tasks, no-op apply; floor: one ssh host true", n), Hako: apply, Floor: baseline,
				Extra: fmt.Sprintf("no-op plan %v (%.1fx); processes on the host: plan %d, apply %d",
					plan.Round(time.Millisecond), float64(plan)/float64(baseline), planProcs, applyProcs)}
			// The targets: a no-op of 200 files within 1.5x one handshake,
			// of 1,000 within 2x (a plan's size must not weigh in
			// proportion).
			switch {
			case n >= 1000:
				r = withTarget(r, 2.0)
			case n >= 200:
				r = withTarget(r, 1.5)
			}
			record(b, r)
		})
	}
}

// FilesPlan writes a plan of n file tasks for h, ten files a folder under
// /srv/hako-bench, and returns its directory.
func FilesPlan(t testing.TB, h *testhost.Host, n int) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, `host "bench" {
  address       = %q
  port          = %d
  user          = "pi"
  identity_file = %q
  known_hosts   = %q
  become        = true
}
`, h.Addr, h.Port, h.KeyFile, h.KnownHostsFile(t))
	for i := range n {
		fmt.Fprintf(&b, `task "file" "f%d" {
  path    = "/srv/hako-bench/d%d/file%d.conf"
  content = "setting %d = on\n"
}
`, i, i/10, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "plan.hcl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The files as the plan has them (a first apply of many files is
	// slow, and not what this measures).
	h.Exec(t, "for i in $(seq 0 "+strconv.Itoa(n-1)+"); do d=/srv/hako-bench/d$((i / 10)); mkdir -p $d; "+
		"printf 'setting %d = on\\n' $i >$d/file$i.conf; done")
	return dir
}

// LastPID is the last PID handed out in h's PID namespace.
func LastPID(t testing.TB, h *testhost.Host) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(h.Exec(t, "cat /proc/sys/kernel/ns_last_pid")))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// benchSizes are the plan sizes to time: HAKO_BENCH_SIZES (10,200,1000 by
// default).
func benchSizes(t testing.TB) []int { return sizesFrom(t, "HAKO_BENCH_SIZES", "10,200,1000") }

// sizesFrom reads a list of plan sizes from the environment variable env,
// def when it is unset.
func sizesFrom(t testing.TB, env, def string) []int {
	var out []int
	for _, f := range strings.Split(cmp.Or(os.Getenv(env), def), ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			t.Fatalf("%s: %q is not a size", env, f)
		}
		out = append(out, n)
	}
	return out
}

// benchRounds is how many times each baseline and plan is timed:
// HAKO_BENCH_ROUNDS (3 by default).
func benchRounds(t testing.TB) int {
	n, err := strconv.Atoi(cmp.Or(os.Getenv("HAKO_BENCH_ROUNDS"), "3"))
	if err != nil || n <= 0 {
		t.Fatalf("HAKO_BENCH_ROUNDS: %v", err)
	}
	return n
}

// BenchmarkFirstApplyFiles times a first `hako apply` of plans of many
// file tasks (ten files a folder; the folders exist, the files do not; medians)
// against `ssh host true` to the same host, timed in turn with it, and
// reports the probe round trips of one apply (its -v line). The sizes are
// HAKO_BENCH_FIRST_SIZES (200 by default: a first apply costs tens of ms a
// file, so a thousand files take minutes a round).
//
//	sudo go test -run '^$' -bench FirstApplyFiles -benchtime 1x -timeout 0 ./bench/
//
// HAKO_BENCH_BIN names another hako binary to time instead of this tree's;
// HAKO_BENCH_COMPARE one to time as well, in turn with it.
func BenchmarkFirstApplyFiles(b *testing.B) {
	testhost.Require(b)
	bin := os.Getenv("HAKO_BENCH_BIN")
	if bin == "" {
		var err error
		if bin, err = hakobin.Build(b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	other := os.Getenv("HAKO_BENCH_COMPARE") // a second build, timed in the same rounds
	h := testhost.Start(b, testhost.Options{})
	trips := regexp.MustCompile(`probe: (\d+) round trips?`)
	for _, n := range sizesFrom(b, "HAKO_BENCH_FIRST_SIZES", "200") {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := FilesPlan(b, h, n)
			fresh := func() { h.Exec(b, "rm -f /srv/hako-bench/d*/file*.conf") }
			applyWith := func(bin string) string {
				out, err := exec.Command(bin, "apply", "-v", dir).CombinedOutput()
				if err != nil {
					b.Fatalf("apply: %v\n%s", err, out)
				}
				return string(out)
			}
			apply := func() string { return applyWith(bin) }
			fresh()
			m := trips.FindStringSubmatch(apply())
			if m == nil {
				b.Fatal("no probe count in apply -v")
			}
			rounds := benchRounds(b)
			floorTimes := make([]time.Duration, rounds)
			times := make([]time.Duration, rounds)
			var otherTimes []time.Duration
			for i := range times { // interleaved, so that a change in load weighs on both
				floorTimes[i] = timeMedian(1, func() {
					if _, code := h.SSH(b, "true"); code != 0 {
						b.Fatal("ssh true failed")
					}
				})
				fresh()
				start := time.Now()
				apply()
				times[i] = time.Since(start)
				if other != "" {
					fresh()
					start := time.Now()
					applyWith(other)
					otherTimes = append(otherTimes, time.Since(start))
				}
			}
			baseline, first := median(floorTimes), median(times)
			if other != "" {
				o := median(otherTimes)
				fmt.Printf("%d file tasks: %s: first apply %v (%.1fx ssh true)\n", n, other, o.Round(time.Millisecond), float64(o)/float64(baseline))
			}
			b.ReportMetric(float64(first)/float64(baseline), "x-ssh-true")
			fmt.Printf("%d file tasks: ssh true %v; first apply %v (%.1fx), %s probe round trips\n",
				n, baseline.Round(time.Millisecond), first.Round(time.Millisecond), float64(first)/float64(baseline), m[1])
			r := Result{Case: fmt.Sprintf("%d file tasks, first apply; floor: one ssh host true", n), Hako: first, Floor: baseline,
				Extra: "probe round trips of one apply: " + m[1]}
			if n == 200 { // the target: 200 new files within 1.5 s, and 6 handshakes
				r.MaxRatio, r.MaxTime = 6, 1500*time.Millisecond
				r.Judge()
			}
			record(b, r)
		})
	}
}
