package plan

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/fuzzbound"
	"github.com/hashicorp/hcl/v2"
)

// unplacedErrors are the errors about the plan as a whole, which have no
// place in a file to point at: every other error names file:line:column.
var unplacedErrors = map[string]string{
	"No hosts":          "the plan has no host block: the mistake is what is missing, not a line",
	"No plan files":     "the directory holds no *.hcl file at all",
	"No plan directory": "the directory itself is missing or a file",
}

// hiddenAt is how an error about a line that may hold a secret (outside
// the blocks, where variable values and secret defaults are) names its
// place without the line: in words, with no subject to quote it from.
var hiddenAt = regexp.MustCompile(`^At (.+):[1-9][0-9]*,[1-9][0-9]*; the line is not shown: it may hold a secret\.$`)

// placedInWords: an error that names its place in its text instead of a
// subject, because quoting the line could show a secret: the file and
// line, or (a file that looks like variable values) the file as a whole.
func placedInWords(d *hcl.Diagnostic, file string) bool {
	if m := hiddenAt.FindStringSubmatch(d.Detail); m != nil {
		return m[1] == file
	}
	return strings.HasPrefix(d.Detail, file+" ") && strings.HasSuffix(d.Detail, "Its lines are not shown: they may hold secrets.")
}

// fuzzTemplates are the templates the seed plans name, so that the seeds
// reach the evaluation of their templatefile calls.
var fuzzTemplates = []string{"testdata/errors/templates", "testdata/good/templates"}

// FuzzPlan writes the input as plan.hcl in a fresh plan directory, loads
// and builds it, and decodes its tasks with host facts: no panic, an answer within a bound, and every error names
// its place in the file (or is one of unplacedErrors).
func FuzzPlan(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/errors/*.hcl")
	seeds = append(seeds, "testdata/good/plan.hcl", "testdata/masked.hcl")
	f.Add([]byte(factsPlan))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	var tmpls = map[string][]byte{}
	for _, d := range fuzzTemplates {
		names, _ := filepath.Glob(filepath.Join(d, "*"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			tmpls[filepath.Base(n)] = b
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		defer fuzzbound.Start()()
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "templates"), 0o700); err != nil {
			t.Fatal(err)
		}
		for n, b := range tmpls {
			if err := os.WriteFile(filepath.Join(dir, "templates", n), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		file := filepath.Join(dir, "plan.hcl")
		if err := os.WriteFile(file, src, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(dir)
		if !diags.HasErrors() {
			p, d := Build(cfg, Inputs{})
			diags = diags.Extend(d)
			// The tasks that read host.facts, decoded as a run would.
			for i := 0; !d.HasErrors() && i < len(p.Hosts); i++ {
				_, fd := p.Hosts[i].WithFacts(sampleFacts())
				diags = diags.Extend(fd)
			}
		}
		for _, d := range diags {
			if d.Severity != hcl.DiagError {
				continue
			}
			if d.Subject == nil {
				if _, ok := unplacedErrors[d.Summary]; !ok && !placedInWords(d, file) {
					t.Errorf("error without a place: %s: %s", d.Summary, d.Detail)
				}
				continue
			}
			// In the plan, or in a template it renders.
			if !strings.HasPrefix(d.Subject.Filename, dir+string(filepath.Separator)) || d.Subject.Start.Line < 1 || d.Subject.Start.Column < 1 {
				t.Errorf("error placed at %s, not in the plan directory: %s: %s", d.Subject, d.Summary, d.Detail)
			}
		}
	})
}
