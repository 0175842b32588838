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

	const rounds = 10
	baseline := timeEach(rounds, func() {
		if _, code := h.SSH(b, "true"); code != 0 {
			b.Fatal("ssh true failed")
		}
	})
	b.ResetTimer()
	for b.Loop() {
		apply()
	}
	b.StopTimer()
	perOp := b.Elapsed() / time.Duration(b.N)
	ratio := float64(perOp) / float64(baseline)
	b.ReportMetric(ratio, "x-ssh-true")
	fmt.Printf("no-op apply %v, ssh true %v: %.2fx\n", perOp.Round(time.Millisecond), baseline.Round(time.Millisecond), ratio)
}

// timeEach is the mean duration of n calls.
func timeEach(n int, f func()) time.Duration {
	start := time.Now()
	for range n {
		f()
	}
	return time.Since(start) / time.Duration(n)
}
