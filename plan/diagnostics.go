package plan

import (
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diagnostics with a source snippet for each,
// including those in template files the parser never saw.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) error {
	all := map[string]*hcl.File{}
	for name, f := range files {
		all[name] = f
	}
	for _, d := range diags {
		for _, r := range []*hcl.Range{d.Subject, d.Context} {
			if r == nil || all[r.Filename] != nil {
				continue
			}
			if src, err := os.ReadFile(r.Filename); err == nil {
				all[r.Filename] = &hcl.File{Bytes: src}
			}
		}
	}
	return hcl.NewDiagnosticTextWriter(w, all, width, color).WriteDiagnostics(diags)
}
