package tasks

import (
	"context"
	"fmt"
	"github.com/hako-dev/hako/probe"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/attrs"
	"github.com/zclconf/go-cty/cty"
)

func TestFileCreate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "motd")
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("hello\n"), "mode": str("0640")})
	c := timeline(t, local(), task, Create)
	if got, _ := os.ReadFile(p); string(got) != "hello\n" {
		t.Errorf("content %q", got)
	}
	if m := modeOf(t, p); m != 0o640 {
		t.Errorf("mode %o", m)
	}
	if d := c.Content.Diff(); !strings.Contains(d, "+hello") || !strings.Contains(d, "@@ -0,0 +1 @@") {
		t.Errorf("diff of a new file:\n%s", d)
	}
	if len(c.Attrs) != 1 || c.Attrs[0] != (AttrChange{"mode", "", "0640"}) {
		t.Errorf("attrs %+v", c.Attrs)
	}
}

func TestFileUpdateContentKeepsUnmanagedMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "motd")
	write(t, p, "old\nsame\n", 0o664)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("new\nsame\n")})
	c := timeline(t, local(), task, Update)
	d := c.Content.Diff()
	for _, want := range []string{"-old", "+new", " same"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff lacks %q:\n%s", want, d)
		}
	}
	if len(c.Attrs) != 0 {
		t.Errorf("mode is not managed, yet attrs %+v", c.Attrs)
	}
	if m := modeOf(t, p); m != 0o664 {
		t.Errorf("unmanaged mode changed to %o", m)
	}
}

// A host file that is not world-readable (a root-only password file) may
// hold a secret the plan does not mark: its lines are not shown, only
// counted; the plan's own content is, as added lines.
func TestFileDiffHidesContentThatIsNotWorldReadable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "chap-secrets")
	write(t, p, "bob * HUNTER2-old *\n", 0o640)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("# managed by hako\nbob * pw-from-template *\n")})
	c := check(t, local(), task)
	want := "(host content not shown: the file is not world-readable; 1 → 2 lines)\n+# managed by hako\n+bob * pw-from-template *\n"
	if d := c.Content.Diff(); d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}
	// Too large to read: no size or hash of it either.
	big := strings.Repeat("HUNTER2 ", MaxRead/8+1)
	write(t, p, big, 0o600)
	c = check(t, local(), task)
	if d := c.Content.Diff(); strings.Contains(d, "HUNTER2") || strings.Contains(d, "sha256") || strings.Contains(d, fmt.Sprint(len(big))) ||
		!strings.Contains(d, "not world-readable; not read → 2 lines") {
		t.Errorf("diff of a large private file:\n%s", d)
	}
}

func TestFileModeOnly(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "x", 0o644)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("x"), "mode": str("0600")})
	c := timeline(t, local(), task, Update)
	if c.Content != nil || len(c.Attrs) != 1 || c.Attrs[0] != (AttrChange{"mode", "0644", "0600"}) {
		t.Errorf("change %+v", c)
	}
}

func TestFileNoOp(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	write(t, p, "x", 0o644)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("x"), "mode": str("0644")})
	if c := check(t, local(), task); c.Changed() {
		t.Errorf("planned %v for an up-to-date file", c.Action)
	}
}

func TestFileSensitiveDiffHidesContent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.env")
	write(t, p, "TOKEN=old-secret-value\n", 0o600)
	task := decode(t, "file", map[string]cty.Value{"path": str(p),
		"content": str("TOKEN=new-secret-value\n").Mark(sensitiveMark{})})
	c := timeline(t, local(), task, Update)
	// Only that it changes and the line counts: no size or hash, from
	// which a secret in a known template could be guessed offline.
	if d := c.Content.Diff(); d != "(sensitive content changed: 1 → 1 lines)\n" {
		t.Errorf("sensitive diff: %q", d)
	}
}

func TestFileLargeComparedByHash(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	big := strings.Repeat("0123456789abcdef", MaxRead/16+1)
	write(t, p, big, 0o644)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str(big)})
	if c := check(t, local(), task); c.Changed() {
		t.Errorf("identical large file planned %v", c.Action)
	}
	task = decode(t, "file", map[string]cty.Value{"path": str(p), "content": str(big + "x")})
	timeline(t, local(), task, Update)
}

// A large file's change is not shown as a diff from empty: hako did not
// read it, and says so with its size and hash.
func TestFileLargeChangeShowsNoFakeDiff(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	big := strings.Repeat("0123456789abcdef\n", MaxRead/17+1)
	write(t, p, big, 0o644)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str(big + "one more\n")})
	c := check(t, local(), task)
	d := c.Content.Diff()
	if strings.Contains(d, "@@") || !strings.Contains(d, fmt.Sprintf("host content not shown: %d bytes, sha256 ", len(big))) {
		t.Errorf("diff of a file too large to read: %.300q", d)
	}
}

// A new file whose content is sensitive, with no mode set, is 0600.
func TestFileSensitiveNewFileIsPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.env")
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("TOKEN=x\n").Mark(sensitiveMark{})})
	c := timeline(t, local(), task, Create)
	if got := modeOf(t, p); got != 0o600 {
		t.Errorf("mode %o, want 600", got)
	}
	if !strings.Contains(fmt.Sprint(c.Attrs), "0600") {
		t.Errorf("the plan does not show mode 0600: %+v", c.Attrs)
	}
}

func TestFileValidateFailureLeavesTarget(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "conf")
	write(t, p, "good\n", 0o644)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("bad\n"),
		"validate": str("grep -q good %s")})
	c := check(t, local(), task)
	if err := task.Apply(context.Background(), local(), c); err == nil {
		t.Fatal("validate should have failed")
	}
	if got, _ := os.ReadFile(p); string(got) != "good\n" {
		t.Errorf("target changed to %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temp file left behind: %v", entries)
	}
}

func TestFileOnDirectoryIsAnError(t *testing.T) {
	dir := t.TempDir()
	task := decode(t, "file", map[string]cty.Value{"path": str(dir), "content": str("x")})
	st, err := Gather(context.Background(), local(), task.Probes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := task.Check(st, Env{}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("err = %v", err)
	}
}

func TestFileSource(t *testing.T) {
	k, _ := LookupKind("file")
	planDir := t.TempDir()
	write(t, filepath.Join(planDir, "files", "blob"), "\x00\x01binary", 0o644)
	p := filepath.Join(t.TempDir(), "blob")
	a := &attrs.Attrs{Kind: "file", Name: "blob", Dir: planDir, Items: map[string]attrs.Attr{
		"path": {Value: str(p)}, "source": {Value: str("files/blob")}}}
	task := k.Decode(a)
	if a.Diags.HasErrors() {
		t.Fatal(a.Diags)
	}
	c := timeline(t, local(), task, Create)
	if d := c.Content.Diff(); !strings.Contains(d, "binary content") {
		t.Errorf("binary diff: %q", d)
	}
}

func TestSensitiveValidateOutputIsHidden(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secrets")
	task := decode(t, "file", map[string]cty.Value{"path": str(p),
		"content": str("password=hunter2\n").Mark(sensitiveMark{}), "validate": str("cat %s; exit 1")})
	err := task.Apply(context.Background(), local(), check(t, local(), task))
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "hidden") {
		t.Errorf("err = %v", err)
	}
}

func TestFileEmptyTarget(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty")
	write(t, p, "", 0o644)
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("now full\n")})
	timeline(t, local(), task, Update)
	task = decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("")})
	timeline(t, local(), task, Update)
}

// Special bits survive: a setgid mode is written, and kept on a rewrite of
// content alone.
func TestFileSpecialModeBits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("setgid on a file needs the group; run as root")
	}
	p := filepath.Join(t.TempDir(), "tool")
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("v1\n"), "mode": str("2755")})
	timeline(t, local(), task, Create)
	fi, _ := os.Stat(p)
	if fi.Mode()&os.ModeSetgid == 0 || fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v", fi.Mode())
	}
	task = decode(t, "file", map[string]cty.Value{"path": str(p), "content": str("v2\n")})
	timeline(t, local(), task, Update)
	if fi, _ := os.Stat(p); fi.Mode()&os.ModeSetgid == 0 {
		t.Errorf("setgid lost on a content rewrite: %v", fi.Mode())
	}
}

// Sensitive content written into an existing world-readable file with no
// mode set tightens it like a new file: group and other bits go (0644 to
// 0600, 0755 to 0700), shown as a mode change. A file others cannot read,
// a mode the plan sets, or content that is not sensitive keep their mode.
func TestFileSensitiveTightensWorldReadable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		before     os.FileMode
		oldContent string
		mode       string // "" unset
		sensitive  bool
		want       os.FileMode
		wantAttr   bool
		wantAction Action
	}{
		{"0644 to 0600", 0o644, "TOKEN=\n", "", true, 0o600, true, Update},
		{"content already right", 0o644, "TOKEN=s3cret\n", "", true, 0o600, true, Update},
		{"0755 to 0700", 0o755, "TOKEN=\n", "", true, 0o700, true, Update},
		{"0604 to 0600", 0o604, "TOKEN=\n", "", true, 0o600, true, Update},
		{"group-readable kept", 0o640, "TOKEN=\n", "", true, 0o640, false, Update},
		{"mode set kept", 0o644, "TOKEN=\n", "0644", true, 0o644, false, Update},
		{"not sensitive kept", 0o644, "TOKEN=\n", "", false, 0o644, false, Update},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "app.env")
			write(t, p, tc.oldContent, tc.before)
			content := str("TOKEN=s3cret\n")
			if tc.sensitive {
				content = content.Mark(sensitiveMark{})
			}
			attrs := map[string]cty.Value{"path": str(p), "content": content}
			if tc.mode != "" {
				attrs["mode"] = str(tc.mode)
			}
			task := decode(t, "file", attrs)
			c := timeline(t, local(), task, tc.wantAction)
			if got := modeOf(t, p); got != tc.want {
				t.Errorf("mode %o, want %o", got, tc.want)
			}
			wantAttr := AttrChange{"mode", fmtMode(int(tc.before)), fmtMode(int(tc.want))}
			if got := len(c.Attrs) == 1 && c.Attrs[0] == wantAttr; got != tc.wantAttr {
				t.Errorf("attrs %+v, want the mode change shown: %v", c.Attrs, tc.wantAttr)
			}
		})
	}
}

// The host is told the planned content's hash (and sends the content back
// only when it differs) for plain content only: for a secret, whether the
// host reads the file again would confirm a guess written into it.
func TestSensitiveFileProbeSendsNoHash(t *testing.T) {
	for _, sensitive := range []bool{false, true} {
		content := str("TOKEN=x\n")
		if sensitive {
			content = content.Mark(sensitiveMark{})
		}
		task := decode(t, "file", map[string]cty.Value{"path": str("/etc/app.conf"), "content": content})
		var expect []string
		for _, p := range task.Probes() {
			if f, ok := p.(probe.File); ok {
				expect = append(expect, f.Expect)
			}
		}
		if len(expect) != 1 || (expect[0] == "") != sensitive {
			t.Errorf("sensitive %v: the read probe's Expect: %q", sensitive, expect)
		}
	}
}
