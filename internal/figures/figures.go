// Package figures lets a test report what it measured (attempts, successes,
// counts, ratios) so that the figures reach the person reading the test run,
// not only `go test -v`: `go test ./...` hides the log of a passing test.
//
// Record logs the figure on the test and, when HAKO_FIGURES names a file,
// appends it there as one line; scripts/test.sh sets HAKO_FIGURES and prints
// the file after the suite.
package figures

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

var mu sync.Mutex

// Record logs a figure and appends "TestName: text" to $HAKO_FIGURES.
func Record(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	name := os.Getenv("HAKO_FIGURES")
	if name == "" {
		return
	}
	line = t.Name() + ": " + strings.ReplaceAll(line, "\n", " ") + "\n"
	mu.Lock()
	defer mu.Unlock()
	// O_APPEND: test binaries of several packages run at once and append to
	// the same file; each line goes in one write.
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Errorf("figures: %v", err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		t.Errorf("figures: %v", err)
	}
}
