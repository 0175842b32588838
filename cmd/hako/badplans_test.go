package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/internal/figures"
)

// The bad plans of plan/testdata/errors, run through the command as a user
// runs them: `hako validate DIR` (`hako plan DIR` for a plan whose only
// fault is a variable without a value, which validate accepts).
const badPlans = "../../plan/testdata/errors"

// secretMarks are the sensitive values of the bad plans; no output shows one.
var secretMarks = []string{"HUNTER2", "s3cr3t-MARK"}

// firstMarker returns the line and text of the first `# ERROR: ` marker
// of a bad-plan file, and whether every marker is about a missing value.
func firstMarker(t *testing.T, file string) (line int, onlyMissing bool) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	onlyMissing = true
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		_, text, ok := strings.Cut(sc.Text(), "# ERROR: ")
		if !ok {
			continue
		}
		if line == 0 {
			line = n
		}
		onlyMissing = onlyMissing && strings.HasPrefix(text, "No value for required variable")
	}
	if line == 0 {
		t.Fatalf("%s has no # ERROR: marker", file)
	}
	return line, onlyMissing
}

// copyTree copies the files of src (and its folders) into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// safeHako runs the command in-process and turns a panic into a result.
func safeHako(args ...string) (code int, stdout, stderr string, panicked any) {
	var out, errb strings.Builder
	func() {
		defer func() {
			if r := recover(); r != nil {
				panicked = fmt.Sprintf("%v\n%s", r, debug.Stack())
			}
		}()
		code = dispatch(context.Background(), args, &out, &errb)
	}()
	return code, out.String(), errb.String(), panicked
}

type cliTally struct{ cases, panics, wrongExit, unplaced, secrets, unshown int }

// checkRun fails t unless the run exited 1 without a panic, its stderr
// names place (file, line and column) and it shows no secret.
func checkRun(t *testing.T, tally *cliTally, code int, stdout, stderr string, panicked any, places ...string) {
	t.Helper()
	tally.cases++
	if panicked != nil {
		tally.panics++
		t.Fatalf("panic: %v", panicked)
	}
	if code != 1 {
		tally.wrongExit++
		t.Errorf("exit %d, want 1; stdout:\n%s\nstderr:\n%.3000s", code, stdout, stderr)
	}
	found := false
	for _, p := range places {
		found = found || strings.Contains(stderr, p)
	}
	if !found {
		tally.unplaced++
		t.Errorf("stderr names none of %q:\n%.3000s", places, stderr)
	}
	if i := strings.IndexFunc(stderr, func(r rune) bool {
		return r == utf8.RuneError || r != '\n' && r != '\t' && r != '\r' && attrs.HasControl(string(r))
	}); i >= 0 {
		tally.unshown++
		t.Errorf("stderr holds a character a terminal would act on or not show, at byte %d: %q", i, stderr)
	}
	for _, m := range secretMarks {
		if strings.Contains(stdout+stderr, m) {
			tally.secrets++
			t.Errorf("the output shows the secret %q:\n%s%s", m, stdout, stderr)
		}
	}
}

func TestValidateBadPlans(t *testing.T) {
	var tally cliTally
	files, _ := filepath.Glob(badPlans + "/*.hcl")
	if len(files) < 60 {
		t.Fatalf("found only %d bad plans", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			line, onlyMissing := firstMarker(t, file)
			dir := t.TempDir()
			copyTree(t, filepath.Join(badPlans, "templates"), filepath.Join(dir, "templates"))
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, filepath.Base(file))
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := "validate"
			if onlyMissing {
				cmd = "plan"
			}
			code, stdout, stderr, panicked := safeHako(cmd, dir)
			checkRun(t, &tally, code, stdout, stderr, panicked,
				fmt.Sprintf("%s line %d, column ", name, line), // shown with a snippet
				fmt.Sprintf("%s:%d,", name, line))              // named only: the line may hold a secret
		})
	}
	varFiles, _ := filepath.Glob(badPlans + "/varfiles/*.hcl")
	for _, file := range varFiles {
		t.Run("varfiles/"+filepath.Base(file), func(t *testing.T) {
			line, _ := firstMarker(t, file)
			dir := t.TempDir()
			copyTree(t, filepath.Join(badPlans, "varfiles", "plan"), dir)
			vars, err := filepath.Abs(file)
			if err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr, panicked := safeHako("validate", "-var-file", vars, dir)
			checkRun(t, &tally, code, stdout, stderr, panicked, fmt.Sprintf("%s:%d,", vars, line))
		})
	}
	const host = "host \"pi\" {\n  address = \"127.0.0.1\"\n  user    = \"pi\"\n}\n"
	for _, c := range []struct {
		name, src, place string
	}{
		{"invalid UTF-8", host + "task \"directory\" \"d\" {\n  path = \"/srv/\xff\"\n}\n", "plan.hcl line 6, column "},
		{"escape sequence", host + "task \"directory\" \"d\" {\n  path = \"/srv/\x1b[2J\"\n}\n", "plan.hcl line 6, column "},
		{"NUL byte", host + "task \"directory\" \"d\" {\n  path = \"/srv/\x00\"\n}\n", "plan.hcl line 6, column "},
		{"huge file", host + "locals {\n  x = \"" + strings.Repeat("s3cr3t-MARK ", 20<<20/12) + "\"\n}\n", "plan.hcl:1,1"},
		{"deep nesting", host + "locals {\n  x = " + strings.Repeat("[", 10000) + "\n}\n", "plan.hcl line 7, column "},
	} {
		t.Run("generated/"+c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "plan.hcl"), []byte(c.src), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			code, stdout, stderr, panicked := safeHako("validate", dir)
			checkRun(t, &tally, code, stdout, stderr, panicked, c.place)
			if len(stderr) > 64<<10 {
				t.Errorf("%d bytes on stderr", len(stderr))
			}
			if took := time.Since(start); took > time.Minute {
				t.Errorf("took %v", took)
			}
		})
	}
	figures.Record(t, "hako validate on bad plans: %d runs, %d panics, %d exits other than 1, %d without file:line:column, %d secrets shown, %d with characters a terminal acts on",
		tally.cases, tally.panics, tally.wrongExit, tally.unplaced, tally.secrets, tally.unshown)
}
