// Package bench measures hako against the floor its speed model names: a
// no-op run should cost about one SSH handshake. It prints ratios against
// a baseline measured in the same process, never timed assertions.
//
//	sudo go test -run '^$' -bench . ./bench/
package bench

import (
	"fmt"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/hakobin"
	"github.com/hako-dev/hako/internal/testhost"
)

// BenchmarkNoOpApply times `hako apply examples/quickstart` on a host that
// already matches it, and reports it as a multiple of one OpenSSH
// `ssh host true` to the same host.
func BenchmarkNoOpApply(b *testing.B) {
	testhost.Require(b)
	bin, err := hakobin.Build(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	h := testhost.Start(b, testhost.Options{})
	args := []string{"apply", "../examples/quickstart", "-var", "address=" + h.Addr,
		"-var", "port=" + strconv.Itoa(h.Port), "-var", "identity_file=" + h.KeyFile,
		"-var", "known_hosts=" + h.KnownHostsFile(b), "-var", "token=bench"}
	apply := func() {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			b.Fatalf("apply: %v\n%s", err, out)
		}
	}
	apply() // converge; every later run is a no-op

	rounds := benchRounds(b)
	var hakoTimes, floorTimes []time.Duration
	for range rounds { // interleaved, so that a change in load weighs on both
		floorTimes = append(floorTimes, timeMedian(1, func() {
			if _, code := h.SSH(b, "true"); code != 0 {
				b.Fatal("ssh true failed")
			}
		}))
		hakoTimes = append(hakoTimes, timeMedian(1, apply))
	}
	for b.Loop() { // the benchmark's own figure
		apply()
	}
	hako, baseline := median(hakoTimes), median(floorTimes)
	ratio := float64(hako) / float64(baseline)
	b.ReportMetric(ratio, "x-ssh-true")
	fmt.Printf("no-op apply %v, ssh true %v: %.2fx (medians of %d)\n", hako.Round(time.Millisecond), baseline.Round(time.Millisecond), ratio, rounds)
	record(b, withTarget(Result{Case: "no-op apply, examples/quickstart; floor: one ssh host true", Hako: hako, Floor: baseline}, 0.6))
}
