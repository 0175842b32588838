package attrs

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

type sensitiveMark struct{}

func str(s string) cty.Value { return cty.StringVal(s) }

// A message about a sensitive attribute that quotes its value, even from a
// decoder that forgot to go through quoted, is replaced by one that names
// only the attribute.
func TestErrorfHidesSensitiveValue(t *testing.T) {
	for name, v := range map[string]cty.Value{
		"creates":         str("/run/HUNTER2\tx").Mark(sensitiveMark{}),
		"authorized_keys": cty.ListVal([]cty.Value{str("ssh-ed25519 AAAA\nHUNTER2 line")}).Mark(sensitiveMark{}),
	} {
		a := &Attrs{Kind: "command", Name: "t", Items: map[string]Attr{name: {Value: v}}}
		plain, _ := v.UnmarkDeep()
		a.AttrErrorf(name, "Bad", "got %q and %#v", "HUNTER2", plain)
		if len(a.Diags) != 1 {
			t.Fatalf("%s: %d diagnostics", name, len(a.Diags))
		}
		if d := a.Diags[0].Detail; strings.Contains(d, "HUNTER2") || !strings.Contains(d, name) {
			t.Errorf("%s: %q", name, d)
		}
	}
	// The same message about a value that is not sensitive is kept.
	a := &Attrs{Items: map[string]Attr{"creates": {Value: str("/run/x")}}}
	a.AttrErrorf("creates", "Bad", "got %q", "/run/x")
	if d := a.Diags[0].Detail; d != `got "/run/x"` {
		t.Errorf("%q", d)
	}
}

// A message about the block as a whole names it as the plan does, by kind
// and name, and points at its header.
func TestErrorfNamesTheBlock(t *testing.T) {
	decl := hcl.Range{Filename: "main.hcl", Start: hcl.Pos{Line: 3, Column: 1}}
	a := &Attrs{Kind: "file", Name: "motd", Decl: decl}
	a.Errorf("Invalid file task", "set exactly one of %s or %s.", "content", "source")
	if len(a.Diags) != 1 {
		t.Fatalf("%d diagnostics", len(a.Diags))
	}
	d := a.Diags[0]
	if d.Detail != "In file.motd: set exactly one of content or source." || d.Subject == nil || *d.Subject != decl {
		t.Errorf("%q at %v", d.Detail, d.Subject)
	}
}
