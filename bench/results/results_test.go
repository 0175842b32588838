package results

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// What the benchmarks record comes back out of Read, and Write makes of
// it a table whose ratios are computed from the medians, never given.
func TestReadWrite(t *testing.T) {
	met, missed := true, false
	in := []Result{
		{Case: "a | b", Hako: 150 * time.Millisecond, Floor: 300 * time.Millisecond, Target: "≤ 0.6x", Met: &met},
		{Case: "c", Hako: 12 * time.Second, Floor: 4 * time.Second, Target: "≤ 2.0x", Met: &missed, Extra: "x"},
		{Case: "d", Hako: 5 * time.Second},
	}
	var buf bytes.Buffer
	for _, r := range in {
		b, _ := json.Marshal(r)
		buf.Write(append(b, '\n'))
	}
	rs, err := Read(&buf)
	if err != nil || len(rs) != 3 || rs[1].Hako != 12*time.Second || !*rs[0].Met {
		t.Fatalf("Read: %+v %v", rs, err)
	}
	var out strings.Builder
	if err := Write(&out, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), "a machine", rs, []string{"a note"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"2026-01-02 03:04 UTC", "Machine: a machine.",
		`| a \| b | 150 ms | 300 ms | 0.50x | – | ≤ 0.6x | yes |  |`,
		"| c | 12.0 s | 4000 ms | 3.00x | – | ≤ 2.0x | **no** | x |",
		"| d | 5000 ms | – | – | – | – | – |  |",
		"\nTargets met: a | b (0.50x, target ≤ 0.6x).\n",
		"\nTargets not met: c (target ≤ 2.0x: 3.00x, 50% over).\n",
		"\na note\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

// Judge holds a case to every goal it has, and the table says which are
// missed and by how much, and how much faster than Ansible hako was.
func TestJudge(t *testing.T) {
	first := Result{Case: "first", Hako: 3 * time.Second, Floor: time.Second, Ansible: 15 * time.Second,
		MaxRatio: 6, MaxTime: 2 * time.Second, MinFaster: 10}
	first.Judge()
	noop := Result{Case: "noop", Hako: 200 * time.Millisecond, Floor: 250 * time.Millisecond, Ansible: 12 * time.Second,
		MaxRatio: 1, MinFaster: 50}
	noop.Judge()
	unmeasured := Result{Case: "no ansible", Hako: time.Second, Floor: time.Second, MaxRatio: 2, MinFaster: 10}
	unmeasured.Judge()
	if first.Target != "≤ 6.0x, ≤ 2.00 s, ≥ 10x faster than Ansible" || first.Met == nil || *first.Met {
		t.Errorf("first: %q %v", first.Target, first.Met)
	}
	if noop.Met == nil || !*noop.Met || unmeasured.Met == nil || *unmeasured.Met {
		t.Errorf("noop met %v, unmeasured met %v", noop.Met, unmeasured.Met)
	}
	var out strings.Builder
	if err := Write(&out, time.Now(), "m", []Result{first, noop, unmeasured}, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| first | 3000 ms | 1000 ms | 3.00x | 15.0 s (hako 5.0x faster) | ≤ 6.0x, ≤ 2.00 s, ≥ 10x faster than Ansible | **no** |",
		"| noop | 200 ms | 250 ms | 0.80x | 12.0 s (hako 60.0x faster) | ≤ 1.0x, ≥ 50x faster than Ansible | yes |",
		"Targets met: noop (0.80x, 60.0x faster than Ansible, target ≤ 1.0x, ≥ 50x faster than Ansible).",
		"first (target ≤ 6.0x, ≤ 2.00 s, ≥ 10x faster than Ansible: 3.00 s, 1.00 s over; 5.0x faster than Ansible, 50% short)",
		"no ansible (target ≤ 2.0x, ≥ 10x faster than Ansible: Ansible not measured)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}
