package plan

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/hako-dev/hako/attrs"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// WriteDiagnostics prints diagnostics with a source snippet for each,
// including those in template files the parser never saw. A snippet never
// shows a value that may be a secret (see secretRanges): it is replaced by
// hiddenValue, whatever diagnostic the line is shown for.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) error {
	all := map[string]*hcl.File{}
	ms := masks{}
	named := map[string]bool{} // only these files are shown: mask only them
	for _, d := range diags {
		for _, r := range []*hcl.Range{d.Subject, d.Context} {
			if r != nil {
				named[r.Filename] = true
			}
		}
	}
	for name, f := range files {
		all[name] = f
		if f == nil || !named[name] {
			continue
		}
		if m := newMask(f, secretRanges(f.Bytes, name)); m != nil {
			all[name], ms[name] = m.file, m
		}
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
	for name, f := range all {
		if f == nil || !named[name] {
			continue
		}
		if b := visible(f.Bytes); b != nil {
			c := *f
			c.Bytes = b
			all[name] = &c
		}
	}
	if len(ms) > 0 {
		shown := make(hcl.Diagnostics, len(diags))
		for i, d := range diags {
			c := *d
			c.Subject, c.Context = ms.rangeIn(d.Subject), ms.rangeIn(d.Context)
			shown[i] = &c
		}
		diags = shown
	}
	var buf bytes.Buffer
	tw := hcl.NewDiagnosticTextWriter(&buf, all, width, color)
	for _, d := range diags {
		buf.Reset()
		if err := tw.WriteDiagnostic(d); err != nil {
			return err
		}
		text := capLines(withColumn(buf.Bytes(), d.Subject), color)
		if _, err := w.Write(text); err != nil {
			return err
		}
	}
	return nil
}

// visible returns a copy of src, the text of a file a snippet shows, with
// every byte that a terminal would act on or not show as it is replaced by
// '?': control characters but tab, newline and carriage return (an escape
// sequence in a plan would clear the screen or retitle the window), bytes
// that are not UTF-8, and the invisible characters that make text read
// otherwise than it is (right-to-left override, zero width space, line
// separator: see attrs.HasControl). Each is replaced byte for byte, so
// the diagnostics' byte offsets still select the same text. nil when
// there is nothing to replace.
func visible(src []byte) []byte {
	var out []byte
	for i := 0; i < len(src); {
		if c := src[i]; c >= 0x20 && c < 0x7f {
			i++ // printable ASCII, most of any plan
			continue
		}
		r, n := utf8.DecodeRune(src[i:])
		bad := r == utf8.RuneError && n == 1 ||
			r != '\t' && r != '\n' && r != '\r' && attrs.HasControl(string(r))
		if bad {
			if out == nil {
				out = append([]byte{}, src...)
			}
			for j := i; j < i+n; j++ {
				out[j] = '?'
			}
		}
		i += n
	}
	return out
}

// maxLineBytes bounds each line of a rendered diagnostic. The snippet
// shows whole source lines, and a plan with a megabyte on one line (a
// pasted blob, a generated file) would otherwise be copied to the
// terminal; the header names the line and column of the error.
const maxLineBytes = 512

// capLines cuts every line of text longer than maxLineBytes, at a
// character boundary, and says how much was left out. With color the cut
// may fall inside a highlighted span, so the attributes are reset.
func capLines(text []byte, color bool) []byte {
	lines := bytes.SplitAfter(text, []byte("\n"))
	long := false
	for _, l := range lines {
		long = long || len(l) > maxLineBytes
	}
	if !long {
		return text
	}
	var out bytes.Buffer
	for _, l := range lines {
		if len(l) <= maxLineBytes {
			out.Write(l)
			continue
		}
		cut := maxLineBytes
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		out.Write(l[:cut])
		if color {
			out.WriteString("\x1b[0m")
		}
		fmt.Fprintf(&out, " ... (%d more bytes on this line)\n", len(bytes.TrimSuffix(l, []byte("\n")))-cut)
	}
	return out.Bytes()
}

// withColumn adds the column to the "on FILE line N" header the HCL writer
// gives a diagnostic (text), which names only the line: without color the
// snippet does not mark where on the line the error is, and an editor
// jumps to FILE:LINE:COLUMN.
func withColumn(text []byte, subject *hcl.Range) []byte {
	if subject == nil {
		return text
	}
	// The header follows the summary line and its blank line; the summary
	// may be any text, so the search starts after it.
	start := bytes.Index(text, []byte("\n\n"))
	if start < 0 {
		return text
	}
	head := fmt.Appendf(nil, "  on %s line %d", subject.Filename, subject.Start.Line)
	i := bytes.Index(text[start:], head)
	if i < 0 {
		return text
	}
	at := start + i + len(head)
	out := append([]byte{}, text[:at]...)
	out = fmt.Appendf(out, ", column %d", subject.Start.Column)
	return append(out, text[at:]...)
}

// hiddenValue stands in a snippet for a value that may be a secret. It is
// the same for every value, so that a snippet tells nothing of the value,
// not even its length.
const hiddenValue = "(value not shown)"

// secretRanges are the byte ranges of src (an HCL file) whose text may be
// a secret and must not appear in a snippet:
//   - every value in a file of bare `name = value` lines (a variables file),
//     and the value of any top-level `name = value` line of a plan file,
//     which can only be a variable's value put in the wrong place;
//   - the default of a variable declared sensitive (unless it is declared
//     `sensitive = false`), as the value it stands for is secret;
//   - a host's become_password.
//
// A file that does not parse is read as far as the parser got.
func secretRanges(src []byte, filename string) []hcl.Range {
	f, _ := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if f == nil {
		return nil
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	var out []hcl.Range
	for _, a := range body.Attributes {
		out = append(out, a.Expr.Range())
	}
	for _, b := range body.Blocks {
		if pw, ok := b.Body.Attributes["become_password"]; ok && b.Type == "host" {
			out = append(out, pw.Expr.Range())
		}
		if b.Type != "variable" {
			continue
		}
		def, ok := b.Body.Attributes["default"]
		if !ok {
			continue
		}
		if s, ok := b.Body.Attributes["sensitive"]; ok {
			if v, d := s.Expr.Value(nil); !d.HasErrors() && v.RawEquals(cty.False) {
				continue
			}
			out = append(out, def.Expr.Range())
		}
	}
	slices.SortFunc(out, func(a, b hcl.Range) int { return a.Start.Byte - b.Start.Byte })
	return out
}

// mask is a copy of a file with its secret ranges replaced by hiddenValue;
// the newlines of a replaced range follow hiddenValue, so that every line
// after it keeps its number.
type mask struct {
	file   *hcl.File
	orig   []byte
	ranges []hcl.Range // in orig, sorted, not overlapping
}

func newMask(f *hcl.File, ranges []hcl.Range) *mask {
	if f == nil || len(ranges) == 0 {
		return nil
	}
	m := &mask{orig: f.Bytes}
	var b bytes.Buffer
	at := 0
	for _, r := range ranges {
		if r.Start.Byte < at || r.End.Byte > len(f.Bytes) || r.Start.Byte > r.End.Byte {
			continue // overlapping or out of the file: not from one parse
		}
		b.Write(f.Bytes[at:r.Start.Byte])
		b.WriteString(hiddenValue)
		b.Write(bytes.Repeat([]byte{'\n'}, bytes.Count(f.Bytes[r.Start.Byte:r.End.Byte], []byte{'\n'})))
		at = r.End.Byte
		m.ranges = append(m.ranges, r)
	}
	b.Write(f.Bytes[at:])
	m.file = &hcl.File{Body: f.Body, Bytes: b.Bytes(), Nav: unmappedNav{f.Nav, m}}
	return m
}

// growth is how much longer range r is in the masked copy.
func (m *mask) growth(r hcl.Range) int {
	nl := bytes.Count(m.orig[r.Start.Byte:r.End.Byte], []byte{'\n'})
	return len(hiddenValue) + nl - (r.End.Byte - r.Start.Byte)
}

// toMasked maps a byte offset of the original to the masked copy. An
// offset inside a hidden range goes to the start of its replacement, or
// when it ends a range (end), to the end of hiddenValue.
func (m *mask) toMasked(off int, end bool) int {
	shift := 0
	for _, r := range m.ranges {
		if off >= r.End.Byte {
			shift += m.growth(r)
			continue
		}
		if off > r.Start.Byte {
			if end {
				return r.Start.Byte + shift + len(hiddenValue)
			}
			return r.Start.Byte + shift
		}
		break
	}
	return off + shift
}

// toOriginal maps a byte offset of the masked copy back to the original.
func (m *mask) toOriginal(off int) int {
	shift := 0
	for _, r := range m.ranges {
		start := r.Start.Byte + shift
		switch {
		case off < start:
			return off - shift
		case off < start+len(hiddenValue):
			return r.Start.Byte
		}
		shift += m.growth(r)
	}
	return off - shift
}

type masks map[string]*mask

// rangeIn maps r, a range of an original file, to the masked copy of its
// file. Lines and columns stay as in the original: they are what the user
// finds in an editor, and only the bytes select the snippet's text.
func (ms masks) rangeIn(r *hcl.Range) *hcl.Range {
	if r == nil {
		return nil
	}
	m := ms[r.Filename]
	if m == nil {
		return r
	}
	c := *r
	c.Start.Byte = m.toMasked(r.Start.Byte, false)
	c.End.Byte = m.toMasked(r.End.Byte, true)
	return &c
}

// unmappedNav answers the diagnostic writer's "in block ..." question for
// an offset of the masked copy by asking the original file's navigation.
type unmappedNav struct {
	nav any
	m   *mask
}

func (n unmappedNav) ContextString(off int) string {
	cs, ok := n.nav.(interface{ ContextString(int) string })
	if !ok {
		return ""
	}
	return cs.ContextString(n.m.toOriginal(off))
}
