// Package plan loads a directory of HCL files and evaluates it, with the
// user's variable values, into per-host ordered task lists.
package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Config is a parsed, not yet evaluated, plan directory. Every piece keeps
// its source range for diagnostics.
type Config struct {
	Dir       string
	Variables []*Variable
	Locals    []*hcl.Attribute
	Hosts     []*hcl.Block
	Tasks     []*hcl.Block
	Handlers  []*hcl.Block
	parser    *hclparse.Parser
}

// Files returns every file parsed so far, for rendering diagnostics.
func (c *Config) Files() map[string]*hcl.File { return c.parser.Files() }

var rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: "host", LabelNames: []string{"name"}},
	{Type: "task", LabelNames: []string{"kind", "name"}},
	{Type: "handler", LabelNames: []string{"name"}},
}}

// Load parses every *.hcl file in dir but those in varFiles (a -var-file
// kept next to the plan is values, not plan). Files are read in name order
// and blocks keep their order within a file: that is the order tasks run in.
func Load(dir string, varFiles ...string) (*Config, hcl.Diagnostics) {
	empty := &Config{Dir: dir, parser: hclparse.NewParser()}
	switch st, err := os.Stat(dir); {
	case err != nil:
		return empty, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No plan directory", Detail: fmt.Sprintf("%v.", err)}}
	case !st.IsDir():
		return empty, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No plan directory",
			Detail: dir + " is a file; hako reads every *.hcl file of a directory: give the directory."}}
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.hcl"))
	names = slices.DeleteFunc(names, func(n string) bool { return isOneOf(n, varFiles) })
	if len(names) == 0 {
		return empty, hcl.Diagnostics{{Severity: hcl.DiagError,
			Summary: "No plan files", Detail: "There are no *.hcl files in " + dir + "."}}
	}
	return LoadFiles(dir, names)
}

// isOneOf reports whether file is one of files (compared as absolute paths).
func isOneOf(file string, files []string) bool {
	abs, err := filepath.Abs(file)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(files, func(f string) bool {
		fa, err := filepath.Abs(f)
		return err == nil && fa == abs
	})
}

// LoadFiles parses the given files as one plan whose relative paths start
// at dir.
func LoadFiles(dir string, names []string) (*Config, hcl.Diagnostics) {
	cfg := &Config{Dir: dir, parser: hclparse.NewParser()}
	var diags hcl.Diagnostics
	var files []*hcl.File
	values := map[hcl.Range]bool{} // top-level name = value lines, reported once here
	for _, n := range names {
		if d := tooLarge(n); d != nil {
			diags = diags.Append(d)
			continue
		}
		f, d := cfg.parser.ParseHCLFile(n)
		if f == nil {
			diags = diags.Extend(d)
			continue
		}
		body, _ := f.Body.(*hclsyntax.Body)
		switch {
		case body == nil:
			diags = diags.Extend(d)
		case d.HasErrors() && looksLikeValues(f.Bytes, body):
			diags = diags.Extend(placesOnly(d))
			diags = diags.Append(varFileHint(n, false))
		case d.HasErrors():
			// Outside the blocks there is nothing but values put in the
			// wrong place, and a variable block may hold a secret default
			// the parser did not get to: a broken line there is named,
			// not shown.
			for _, dg := range d {
				if dg.Subject != nil && !inBlock(body, *dg.Subject, "host", "task", "handler", "locals") {
					dg = placesOnly(hcl.Diagnostics{dg})[0]
				}
				diags = diags.Append(dg)
			}
		case len(body.Blocks) == 0 && len(body.Attributes) > 0:
			diags = diags.Append(varFileHint(n, true))
		default:
			attrs := hcl.Attributes{}
			for name, a := range body.Attributes {
				attrs[name] = a.AsHCLAttribute()
			}
			for _, a := range sortedAttrs(attrs) {
				values[a.NameRange] = true
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value outside a block",
					Detail: fmt.Sprintf("A plan file holds blocks, not %s = ... lines. For a variable's value, put the line "+
						"in a file passed with -var-file, or use -var %s=... or %s%s in the environment; "+
						"for a value named in the plan, use a locals block.", a.Name, a.Name, envPrefix, a.Name),
					Subject: a.NameRange.Ptr()})
			}
			files = append(files, f)
		}
	}
	if diags.HasErrors() {
		return cfg, diags
	}
	content, d := hcl.MergeFiles(files).Content(rootSchema)
	diags = diags.Extend(slices.DeleteFunc(d, func(d *hcl.Diagnostic) bool {
		return d.Summary == "Unsupported argument" && d.Subject != nil && values[*d.Subject]
	}))
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			v, d := decodeVariable(b)
			diags = diags.Extend(d)
			if v != nil {
				cfg.Variables = append(cfg.Variables, v)
			}
		case "locals":
			attrs, d := b.Body.JustAttributes()
			diags = diags.Extend(d)
			for _, a := range sortedAttrs(attrs) {
				cfg.Locals = append(cfg.Locals, a)
			}
		case "host":
			cfg.Hosts = append(cfg.Hosts, b)
		case "task":
			cfg.Tasks = append(cfg.Tasks, b)
		case "handler":
			cfg.Handlers = append(cfg.Handlers, b)
		}
	}
	diags = diags.Extend(cfg.checkUnique())
	return cfg, diags
}

// maxFileBytes bounds a plan or variables file. Plans are written by
// hand (the examples' are a few KiB); a file of megabytes is a mistake (a log, an image, a file's
// content pasted in), and parsing it would take minutes before the
// first error. File content that large belongs in a file of its own
// (source, file(), templatefile()).
const maxFileBytes = 1 << 20

// tooLarge reports a file larger than maxFileBytes, before it is read. The
// message names the file's place but shows no line: it is not parsed,
// and its first line may hold a secret.
func tooLarge(name string) *hcl.Diagnostic {
	st, err := os.Stat(name)
	if err != nil || st.Size() <= maxFileBytes {
		return nil // a read error is reported by the parser
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "File too large",
		Detail: fmt.Sprintf("%s:1,1: the file is %.1f MiB; a plan or variables file may be at most %d MiB. "+
			"Put large file content in a file of its own, with source, file() or templatefile().",
			name, float64(st.Size())/(1<<20), maxFileBytes>>20)}
}

// varFileHint says that file, which holds only name = value lines (or, when
// parsed is false, fails to parse and has no block), looks like a
// variables file. Its lines are never quoted: they may hold secrets.
func varFileHint(file string, parsed bool) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Variables file in the plan directory",
		Detail: fmt.Sprintf("%s holds only name = value lines, like a variables file: pass it with -var-file "+
			"(then it is not read as plan), or move it out of the plan directory. "+
			"Its lines are not shown: they may hold secrets.", file)}
	if !parsed {
		d.Summary = "Cannot read a plan file"
		d.Detail = fmt.Sprintf("%s has no block: if it is a variables file, pass it with -var-file "+
			"(then it is not read as plan), or move it out of the plan directory. "+
			"Its lines are not shown: they may hold secrets.", file)
	}
	return d
}

// looksLikeValues reports whether a file that failed to parse has no
// block, neither in what the parser made of it nor as a line that starts
// one: then it is likely a variables file, whose lines must not be shown.
func looksLikeValues(src []byte, body *hclsyntax.Body) bool {
	return len(body.Blocks) == 0 && !blockStart.Match(src)
}

// inBlock reports whether r starts inside one of body's blocks of the
// given types.
func inBlock(body *hclsyntax.Body, r hcl.Range, types ...string) bool {
	for _, b := range body.Blocks {
		if slices.Contains(types, b.Type) && b.Range().ContainsOffset(r.Start.Byte) {
			return true
		}
	}
	return false
}

// blockStart matches a line that opens one of the plan's blocks: the
// keyword, its labels (quoted or bare) and the opening brace. A line of a
// variables file setting a variable of that name (`host = "10.0.0.5"`)
// does not match.
var blockStart = regexp.MustCompile(`(?m)^[ \t]*(variable|locals|host|task|handler)([ \t]+("[^"\n]*"|[A-Za-z_][\w-]*))*[ \t]*\{`)

// checkUnique reports names declared twice.
func (c *Config) checkUnique() hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]hcl.Range{}
	dup := func(what, name string, rng hcl.Range) {
		key := what + " " + name
		if first, ok := seen[key]; ok {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError,
				Summary: "Duplicate " + what,
				Detail:  what + " " + name + " was already declared at " + first.String() + ".",
				Subject: rng.Ptr()})
			return
		}
		seen[key] = rng
	}
	for _, v := range c.Variables {
		dup("variable", `"`+v.Name+`"`, v.DeclRange)
	}
	for _, l := range c.Locals {
		dup("local", l.Name, l.NameRange)
	}
	for _, b := range c.Hosts {
		dup("host", `"`+b.Labels[0]+`"`, b.DefRange)
		diags = diags.Extend(checkName("host", b, 0))
	}
	for _, b := range c.Tasks {
		dup("task", `"`+b.Labels[0]+`" "`+b.Labels[1]+`"`, b.DefRange)
		diags = diags.Extend(checkName("task", b, 1))
	}
	for _, b := range c.Handlers {
		dup("handler", `"`+b.Labels[0]+`"`, b.DefRange)
		diags = diags.Extend(checkName("handler", b, 0))
	}
	return diags
}

// checkName requires label i of b to be an identifier (letters, digits,
// underscores, dashes; not starting with a digit), as Terraform's names:
// names appear in addresses, output and the recap line scripts parse.
func checkName(what string, b *hcl.Block, i int) hcl.Diagnostics {
	if hclsyntax.ValidIdentifier(b.Labels[i]) {
		return nil
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid " + what + " name",
		Detail:  fmt.Sprintf("%q is not a valid name: use letters, digits, underscores and dashes, starting with a letter or underscore.", b.Labels[i]),
		Subject: b.LabelRanges[i].Ptr()}}
}
