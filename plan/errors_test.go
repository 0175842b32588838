package plan

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/internal/figures"
	"github.com/hashicorp/hcl/v2"
)

// marker is an expected diagnostic: `# ERROR: text` at the end of the line
// the diagnostic's subject starts on (or, for a variables file, the line
// its text names).
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
		// A line may carry several markers: `# ERROR: a # ERROR: b`.
		for _, text := range strings.Split(sc.Text(), "# ERROR: ")[1:] {
			ms = append(ms, marker{n, strings.TrimSpace(text)})
		}
	}
	return ms
}

// secretMarks are the values that error cases give sensitive variables
// (or put where only a secret would be): no rendered diagnostic may show
// one, whatever the error.
var secretMarks = []string{"HUNTER2", "s3cr3t-MARK"}

// badTally counts what the error cases of one test run showed.
type badTally struct {
	cases, plans, varFiles, generated  int
	panics, unplaced, secrets, unshown int
}

// outcome is what loading one bad case gave: its diagnostics as the user
// sees them, and a panic if there was one.
type outcome struct {
	cfg      *Config
	diags    hcl.Diagnostics
	rendered string
	panicked any
}

// loadCase loads and builds a plan (with the given variables files) the
// way hako does, turning a panic into a result.
func loadCase(dir string, files []string, in Inputs) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			o.panicked = fmt.Sprintf("%v\n%s", r, debug.Stack())
		}
	}()
	cfg, diags := LoadFiles(dir, files)
	o.cfg = cfg
	if !diags.HasErrors() {
		_, d := Build(cfg, in)
		diags = diags.Extend(d)
	}
	o.diags = diags
	var b strings.Builder
	err := WriteDiagnostics(&b, cfg.Files(), diags, 0, false)
	o.rendered = b.String()
	if err != nil {
		o.rendered += "\nWriteDiagnostics: " + err.Error()
	}
	return o
}

// placeIn matches the file:line,column that a diagnostic about a variables
// file gives in its text instead of a snippet.
var placeIn = regexp.MustCompile(`([^\s(]+):(\d+),(\d+)`)

// checkOutcome fails t for a panic, an error diagnostic with no position,
// and a secret mark in the rendered diagnostics, and counts each.
func checkOutcome(t *testing.T, o outcome, tally *badTally) {
	t.Helper()
	if o.panicked != nil {
		tally.panics++
		t.Fatalf("panic: %v", o.panicked)
	}
	if !o.diags.HasErrors() {
		t.Fatalf("no error; got:\n%s", render(o.diags))
	}
	for _, d := range o.diags.Errs() {
		d := d.(*hcl.Diagnostic)
		// A file that cannot be read has no line to name: its path is
		// the place.
		unread := strings.HasPrefix(d.Summary, "Cannot read") && strings.Contains(d.Detail, "/")
		if d.Subject == nil && !placeIn.MatchString(d.Detail) && !unread {
			tally.unplaced++
			t.Errorf("an error without a position: %s: %s", d.Summary, d.Detail)
			continue
		}
		if d.Subject != nil {
			head := fmt.Sprintf("on %s line %d, column %d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
			if !strings.Contains(o.rendered, head) {
				tally.unplaced++
				t.Errorf("the rendered error does not name %q:\n%s", head, o.rendered)
			}
		}
	}
	if i := strings.IndexFunc(o.rendered, func(r rune) bool {
		return r == utf8.RuneError || r != '\n' && r != '\t' && r != '\r' && attrs.HasControl(string(r))
	}); i >= 0 {
		tally.unshown++
		t.Errorf("the diagnostics hold a character a terminal would act on or not show, at byte %d: %q", i, o.rendered)
	}
	for _, m := range secretMarks {
		if strings.Contains(o.rendered, m) {
			tally.secrets++
			t.Errorf("the diagnostics show the secret %q:\n%s", m, o.rendered)
		}
	}
}

// TestErrors loads each testdata/errors file and requires exactly the
// diagnostics its markers name, at their lines, and nothing else; then
// each variables file of testdata/errors/varfiles with the plan beside
// them; then inputs that cannot be written as a marked file (invalid
// UTF-8, NUL bytes, a huge file, deep nesting). None may panic, every
// error names its place, and none shows a secret.
func TestErrors(t *testing.T) {
	var tally badTally
	files, _ := filepath.Glob("testdata/errors/*.hcl")
	if len(files) < 20 {
		t.Fatalf("found only %d error cases", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			tally.cases++
			tally.plans++
			want := readMarkers(t, file)
			if len(want) == 0 {
				t.Fatal("no # ERROR: marker")
			}
			o := loadCase(filepath.Dir(file), []string{file}, Inputs{})
			checkOutcome(t, o, &tally)
			diags := o.diags
			errs := diags.Errs()
			for _, m := range want {
				// A broken line outside host, task, handler and locals blocks
				// is named in the text, not shown: it may hold a secret.
				if !hasDiag(diags, file, m) && !hasPlacedDiag(diags, file, m) {
					t.Errorf("line %d: no error containing %q; got:\n%s", m.line, m.text, render(diags))
				}
			}
			if len(errs) > len(want) {
				t.Errorf("%d errors for %d markers:\n%s", len(errs), len(want), render(diags))
			}
		})
	}
	varFiles, _ := filepath.Glob("testdata/errors/varfiles/*.hcl")
	for _, file := range varFiles {
		t.Run("varfiles/"+filepath.Base(file), func(t *testing.T) {
			tally.cases++
			tally.varFiles++
			want := readMarkers(t, file)
			if len(want) == 0 {
				t.Fatal("no # ERROR: marker")
			}
			o := loadCase(varFilesPlan, []string{varFilesPlan + "/plan.hcl"}, Inputs{Args: []VarArg{{File: file}}})
			checkOutcome(t, o, &tally)
			errs := o.diags.Errs()
			for _, m := range want {
				if !hasPlacedDiag(o.diags, file, m) {
					t.Errorf("line %d: no error at %s:%d, containing %q; got:\n%s", m.line, file, m.line, m.text, render(o.diags))
				}
			}
			if len(errs) > len(want) {
				t.Errorf("%d errors for %d markers:\n%s", len(errs), len(want), render(o.diags))
			}
		})
	}
	for _, c := range generatedCases() {
		t.Run("generated/"+c.name, func(t *testing.T) {
			if slowCases[c.name] && raceOn {
				t.Skip("too slow under the race detector; the plain run covers it")
			}
			tally.cases++
			tally.generated++
			dir := t.TempDir()
			file := filepath.Join(dir, "plan.hcl")
			if err := os.WriteFile(file, c.src(), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			o := loadCase(dir, []string{file}, Inputs{})
			took := time.Since(start)
			checkOutcome(t, o, &tally)
			if !strings.Contains(o.rendered, c.want) {
				t.Errorf("no %q in:\n%.2000s", c.want, o.rendered)
			}
			// A bounded message: a snippet of a huge or deeply nested line
			// must not copy the file to the terminal.
			if len(o.rendered) > 64<<10 {
				t.Errorf("%d bytes of diagnostics; the first 2000:\n%.2000s", len(o.rendered), o.rendered)
			}
			// No bound on the time: a timed assertion fails on a loaded
			// machine, not on slow code. A parse that never ends is still
			// caught, by go test's own -timeout.
			t.Logf("%v, %d diagnostics, %d bytes rendered", took.Round(time.Millisecond), len(o.diags), len(o.rendered))
		})
	}
	for _, c := range generatedVarFiles() {
		t.Run("generated/varfiles/"+c.name, func(t *testing.T) {
			tally.cases++
			tally.generated++
			vars := filepath.Join(t.TempDir(), "vars.hcl")
			if c.src == nil {
				if err := os.Mkdir(vars, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(vars, c.src(), 0o600); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			o := loadCase(varFilesPlan, []string{varFilesPlan + "/plan.hcl"}, Inputs{Args: []VarArg{{File: vars}}})
			checkOutcome(t, o, &tally)
			if want := strings.ReplaceAll(c.want, "FILE", vars); !strings.Contains(o.rendered, want) {
				t.Errorf("no %q in:\n%.2000s", want, o.rendered)
			}
			if len(o.rendered) > 64<<10 {
				t.Errorf("%d bytes of diagnostics", len(o.rendered))
			}
			t.Logf("%v", time.Since(start).Round(time.Millisecond))
		})
	}
	figures.Record(t, "bad plans: %d cases (%d plan files, %d variables files, %d generated inputs), %d panics, %d errors without a position, %d secrets shown, %d with characters a terminal acts on",
		tally.cases, tally.plans, tally.varFiles, tally.generated, tally.panics, tally.unplaced, tally.secrets, tally.unshown)
	if n := len(files) + len(varFiles) + len(generatedCases()) + len(generatedVarFiles()); n < 60 {
		t.Errorf("only %d bad-plan cases", n)
	}
}

// varFilesPlan is the plan the variables-file cases are given with.
const varFilesPlan = "testdata/errors/varfiles/plan"

// hasPlacedDiag reports an error about file whose text names the marked
// line (file:line,column) and contains the marker's text. Errors about a
// variables file carry no snippet: its lines may hold secrets.
func hasPlacedDiag(diags hcl.Diagnostics, file string, m marker) bool {
	for _, d := range diags.Errs() {
		d := d.(*hcl.Diagnostic)
		text := d.Summary + ": " + d.Detail
		if strings.Contains(text, fmt.Sprintf("%s:%d,", file, m.line)) && strings.Contains(text, m.text) {
			return true
		}
	}
	return false
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
