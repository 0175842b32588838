package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/bench/results"
)

// Every RESULTS.md tabulate writes points to bench/PROFILE.md, which
// says why the targets not met are missed, and that file exists (the
// pointer is not left dangling when a `make bench` run rewrites
// RESULTS.md).
func TestResultsPointToProfile(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "results.jsonl"), filepath.Join(dir, "RESULTS.md")
	b, err := json.Marshal(results.Result{Case: "c", Hako: 2 * time.Second, Floor: time.Second, MaxRatio: 1.5})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(in, out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "bench/PROFILE.md") {
		t.Errorf("RESULTS.md does not point to bench/PROFILE.md:\n%s", got)
	}
	if _, err := os.Stat("../PROFILE.md"); err != nil {
		t.Errorf("the profile RESULTS.md points to: %v", err)
	}
}
