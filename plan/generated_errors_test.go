package plan

import (
	"bytes"
	"fmt"
	"strings"
)

// generatedCase is a bad plan that cannot be written as a marked file in
// testdata: bytes an editor would not keep, or a size no one should commit.
type generatedCase struct {
	name string
	src  func() []byte
	want string // in the rendered diagnostics
}

// slowCases take seconds to parse, and over a minute under the race
// detector: the race run skips them, the plain run covers them.
var slowCases = map[string]bool{"file just under the limit, error at its end": true}

const goodHost = "host \"pi\" {\n  address = \"127.0.0.1\"\n  user    = \"pi\"\n}\n"

func generatedCases() []generatedCase {
	return []generatedCase{
		{"invalid UTF-8 in a string", func() []byte {
			return []byte(goodHost + "task \"file\" \"x\" {\n  path    = \"/etc/\xff\xfe\"\n  content = \"x\"\n}\n")
		}, "Invalid character encoding"},
		{"invalid UTF-8 outside strings", func() []byte {
			return []byte(goodHost + "\xc3\x28 = 1\n")
		}, "plan.hcl:5,1"}, // outside the blocks: named, not shown (a value may be there)
		{"NUL byte in a string", func() []byte {
			return []byte(goodHost + "task \"file\" \"x\" {\n  path    = \"/etc/a\x00b\"\n  content = \"x\"\n}\n")
		}, "plan.hcl line 6"},
		{"NUL byte between blocks", func() []byte {
			return []byte(goodHost + "\x00\ntask \"directory\" \"d\" { path = \"/d\" }\n")
		}, "plan.hcl:5,1"},
		{"escape sequence in a string", func() []byte {
			// A snippet would clear the screen: shown as '?'.
			return []byte(goodHost + "task \"file\" \"x\" {\n  path    = \"/etc/\x1b[2J\x1b]0;owned\x07\"\n  content = \"x\"\n}\n")
		}, "path    = \"/etc/?[2J?]0;owned?\""},
		{"C1 control and right-to-left override", func() []byte {
			return []byte(goodHost + "task \"directory\" \"x\" {\n  path = \"/srv/\u009b2J\u202efdp.\"\n}\n")
		}, "path = \"/srv/??2J???fdp.\""},
		{"huge file of one line", func() []byte {
			// 20 MiB on the line of the error: the snippet must not
			// copy it to the terminal.
			return []byte(goodHost + "task \"file\" \"x\" {\n  path = \"/etc/x\"\n  content = \"" +
				strings.Repeat("a", 20<<20) + "\" bogus = 1\n}\n")
		}, "plan.hcl:1,1: the file is 20.0 MiB"},
		{"long line", func() []byte {
			// 512 KiB on the line of the error, under the file limit: the
			// snippet shows its start, not all of it.
			return []byte(goodHost + "task \"file\" \"x\" {\n  path = \"/etc/x\"\n  content = \"" +
				strings.Repeat("a", 512<<10) + "\" bogus = 1\n}\n")
		}, "more bytes on this line"},
		{"huge file of many blocks", func() []byte {
			var b bytes.Buffer
			b.WriteString(goodHost)
			for i := 0; b.Len() < 20<<20; i++ {
				fmt.Fprintf(&b, "task \"directory\" \"d%d\" { path = \"/d\" }\n", i)
			}
			b.WriteString("task \"directory\" \"last\" { path = }\n")
			return b.Bytes()
		}, "plan.hcl:1,1: the file is 20.0 MiB"},
		{"file just under the limit, error at its end", func() []byte {
			var b bytes.Buffer
			b.WriteString(goodHost)
			for i := 0; b.Len() < maxFileBytes-100; i++ {
				fmt.Fprintf(&b, "task \"directory\" \"d%d\" { path = \"/d\" }\n", i)
			}
			b.WriteString("task \"directory\" \"last\" { path = }\n")
			return b.Bytes()
		}, "Invalid expression"},
		{"deep nesting of brackets", func() []byte {
			return []byte(goodHost + "task \"file\" \"x\" {\n  path    = \"/etc/x\"\n  content = " +
				strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n}\n")
		}, "plan.hcl line 7"},
		{"deep nesting, unclosed", func() []byte {
			return []byte(goodHost + "locals {\n  x = " + strings.Repeat("[{a = ", 10000) + "\n}\n")
		}, "plan.hcl line 6"},
		{"deep nesting of parentheses", func() []byte {
			return []byte(goodHost + "locals {\n  x = " + strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000) + " + \"a\"\n}\n")
		}, "plan.hcl line 6"},
		{"deep nesting of interpolations", func() []byte {
			return []byte(goodHost + "locals {\n  x = " + strings.Repeat("\"${", 10000) + "bogus.x" + strings.Repeat("}\"", 10000) + "\n}\n")
		}, "plan.hcl line 6"},
	}
}

// generatedVarFiles are variables files given to the plan of
// testdata/errors/varfiles; FILE in want stands for the file's path. A
// nil src makes a directory of that name.
func generatedVarFiles() []generatedCase {
	return []generatedCase{
		{"a directory", nil, "read FILE: is a directory"},
		{"NUL byte outside a string", func() []byte {
			return []byte("pw = \"s3cr3t-MARK\"\n\x00 = 1\n")
		}, "FILE:2,1"},
		{"invalid UTF-8", func() []byte {
			return []byte("pw = \"s3cr3t-MARK\"\n\xff\xfe = 1\n")
		}, "FILE:2,1"},
		{"huge", func() []byte {
			return []byte("pw = \"" + strings.Repeat("s3cr3t-MARK ", 20<<20/12) + "\"\n")
		}, "FILE:1,1: the file is 20.0 MiB"},
		{"deep nesting", func() []byte {
			return []byte("pw = \"s3cr3t-MARK\"\nports = " + strings.Repeat("[", 10000) + "\n")
		}, "FILE:3,1"},
	}
}
