package plan

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

const planMain = `variable "pppoe_password" {
  type      = string
  sensitive = true
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
`

// Whatever a new user puts in the plan directory, no diagnostic shows a
// value that could be a secret (every one here holds HUNTER2), and each
// names the place or the file.
func TestDiagnosticsNeverShowValues(t *testing.T) {
	for name, c := range map[string]struct {
		files map[string]string
		want  []string
	}{
		"variables file beside the plan": {
			files: map[string]string{"main.hcl": planMain, "secrets.hcl": "pppoe_user     = \"bob\"\npppoe_password = \"HUNTER2-a\"\n"},
			want:  []string{"Error: Variables file in the plan directory", "secrets.hcl holds only name = value lines", "-var-file"},
		},
		"variables file that does not parse": {
			files: map[string]string{"main.hcl": planMain, "secrets.hcl": "pppoe_user = \"bob\"\npppoe_password = \"HUNTER2-b\n"},
			want:  []string{"secrets.hcl:2,", "secrets.hcl has no block", "-var-file"},
		},
		"broken variables file setting host": {
			files: map[string]string{"main.hcl": planMain, "secrets.hcl": "host = \"10.0.0.5\"\npppoe_password = \"HUNTER2-i\n"},
			want:  []string{"secrets.hcl:2,", "secrets.hcl has no block", "-var-file"},
		},
		"variables file with a bare word": {
			files: map[string]string{"main.hcl": planMain, "secrets.hcl": "pppoe_password = HUNTER2 c\n"},
			want:  []string{"secrets.hcl:1,", "-var-file"},
		},
		"value in a plan file": {
			files: map[string]string{"main.hcl": planMain + "\npppoe_password = \"HUNTER2-d\"\n"},
			want:  []string{"Error: Value outside a block", "main.hcl line 11", "pppoe_password = (value not shown)", "-var-file"},
		},
		"broken heredoc in a plan file": {
			files: map[string]string{"main.hcl": planMain + "\ntoken = <<EOT # no comment here\nHUNTER2-e\nEOT\n"},
			want:  []string{"main.hcl:11,", "main.hcl:12,"},
		},
		"unterminated sensitive default": {
			files: map[string]string{"main.hcl": "variable \"p\" {\n  sensitive = true\n  default = \"HUNTER2-f\n}\n" + planMain[strings.Index(planMain, "host"):]},
			want:  []string{"main.hcl:3,"},
		},
		"sensitive heredoc default of the wrong type": {
			files: map[string]string{"main.hcl": "variable \"p\" {\n  type      = number\n  sensitive = true\n  default   = <<EOT\nHUNTER2-g\nEOT\n}\n" + planMain},
			want:  []string{"Invalid default value for variable", "main.hcl line 4", "default   = (value not shown)"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, text := range c.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, diags := Load(dir)
			if !diags.HasErrors() {
				_, d := Build(cfg, Inputs{AllowMissing: true})
				diags = diags.Extend(d)
			}
			var b strings.Builder
			if err := WriteDiagnostics(&b, cfg.Files(), diags, 0, false); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !diags.HasErrors() || strings.Contains(out, "HUNTER2") {
				t.Errorf("diagnostics show the value:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
		})
	}
}

// A snippet that covers a whole file shows every line, with the same line
// numbers, and in place of each value that may be a secret the same
// placeholder: not even the value's length shows.
func TestSnippetMasksValues(t *testing.T) {
	file := "testdata/masked.hcl"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f := &hcl.File{Bytes: src}
	end := hcl.Pos{Line: strings.Count(string(src), "\n") + 1, Column: 1, Byte: len(src)}
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Whole file",
		Subject: &hcl.Range{Filename: file, Start: hcl.InitialPos, End: end}}
	var b strings.Builder
	if err := WriteDiagnostics(&b, map[string]*hcl.File{file: f}, hcl.Diagnostics{d}, 0, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "HUNTER2") {
		t.Errorf("snippet shows a value:\n%s", b.String())
	}
	golden := "testdata/masked.golden"
	if *update {
		_ = os.WriteFile(golden, []byte(b.String()), 0o644)
	}
	want, _ := os.ReadFile(golden)
	if b.String() != string(want) {
		t.Errorf("%s differs (go test -update to accept):\n--- got\n%s\n--- want\n%s", golden, b.String(), want)
	}
}
