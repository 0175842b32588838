package plan

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// marker is an expected diagnostic: `# ERROR: text` at the end of the line
// the diagnostic's subject starts on.
type marker struct {
	line int
	text string
}

func readMarkers(t *testing.T, path string) []marker {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ms []marker
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if _, text, ok := strings.Cut(sc.Text(), "# ERROR: "); ok {
			ms = append(ms, marker{n, strings.TrimSpace(text)})
		}
	}
	return ms
}

// TestErrors loads each testdata/errors file and requires exactly the
// diagnostics its markers name, at their lines, and nothing else.
func TestErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/errors/*.hcl")
	if len(files) < 20 {
		t.Fatalf("found only %d error cases", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := readMarkers(t, file)
			if len(want) == 0 {
				t.Fatal("no # ERROR: marker")
			}
			diags := loadAndBuild(file)
			errs := diags.Errs()
			for _, m := range want {
				if !hasDiag(diags, file, m) {
					t.Errorf("line %d: no error containing %q; got:\n%s", m.line, m.text, render(diags))
				}
			}
			if len(errs) > len(want) {
				t.Errorf("%d errors for %d markers:\n%s", len(errs), len(want), render(diags))
			}
		})
	}
}

func loadAndBuild(file string) hcl.Diagnostics {
	cfg, diags := LoadFiles(filepath.Dir(file), []string{file})
	if diags.HasErrors() {
		return diags
	}
	_, d := Build(cfg, Inputs{})
	return diags.Extend(d)
}

func hasDiag(diags hcl.Diagnostics, file string, m marker) bool {
	for _, d := range diags {
		if d.Severity != hcl.DiagError || d.Subject == nil {
			continue
		}
		if d.Subject.Filename == file && d.Subject.Start.Line == m.line &&
			strings.Contains(d.Summary+": "+d.Detail, m.text) {
			return true
		}
	}
	return false
}

func render(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString("  ")
		if d.Subject != nil {
			b.WriteString(d.Subject.String() + ": ")
		}
		b.WriteString(d.Summary + ": " + d.Detail + "\n")
	}
	return b.String()
}

// The rendered diagnostic shows file, line and column, and a source
// snippet.
func TestDiagnosticRendering(t *testing.T) {
	file := "testdata/errors/unknown_attr.hcl"
	cfg, diags := LoadFiles("testdata/errors", []string{file})
	_, d := Build(cfg, Inputs{})
	diags = diags.Extend(d)
	var b strings.Builder
	if err := WriteDiagnostics(&b, cfg.Files(), diags, 0, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Error: Unsupported argument", "on testdata/errors/unknown_attr.hcl line 9, column 3, in task \"file\" \"motd\":", "bogus   = 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered diagnostics lack %q:\n%s", want, out)
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The diagnostics for sensitive values, as the user sees them (snippets
// included), never show the value.
func TestSensitiveValueNotInDiagnostics(t *testing.T) {
	for _, file := range []string{"testdata/errors/sensitive_refused.hcl",
		"testdata/errors/sensitive_messages.hcl", "testdata/errors/sensitive_default.hcl",
		"testdata/errors/value_outside_block.hcl"} {
		cfg, diags := LoadFiles(filepath.Dir(file), []string{file})
		_, d := Build(cfg, Inputs{})
		diags = diags.Extend(d)
		var out strings.Builder
		_ = WriteDiagnostics(&out, cfg.Files(), diags, 0, false)
		if !diags.HasErrors() || strings.Contains(out.String(), "HUNTER2") || strings.Contains(out.String(), "4242") {
			t.Errorf("%s: diagnostics:\n%s", file, out.String())
		}
	}
}
