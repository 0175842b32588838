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
		`| a \| b | 150 ms | 300 ms | 0.50x | ≤ 0.6x | yes |  |`,
		"| c | 12.0 s | 4000 ms | 3.00x | ≤ 2.0x | **no** | x |",
		"| d | 5000 ms | – | – | – | – |  |",
		"\nTargets met: a | b (0.50x, target ≤ 0.6x).\n",
		"\nTargets not met: c (target ≤ 2.0x: 3.00x, 50% over).\n",
		"\na note\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}
