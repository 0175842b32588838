package tasks

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/zclconf/go-cty/cty"
)

type sensitiveMark struct{}

// decode builds a task of the given kind from plain attribute values, as
// the plan package would after evaluation.
func decode(t *testing.T, kind string, values map[string]cty.Value) Task {
	t.Helper()
	k, ok := LookupKind(kind)
	if !ok {
		t.Fatalf("no kind %q", kind)
	}
	a := &attrs.Attrs{Kind: kind, Name: "test", Dir: t.TempDir(), Items: map[string]attrs.Attr{}}
	for n, v := range values {
		a.Items[n] = attrs.Attr{Value: v}
	}
	task := k.Decode(a)
	if a.Diags.HasErrors() {
		t.Fatalf("decode: %v", a.Diags)
	}
	return task
}

func check(t *testing.T, h hosts.Host, task Task) *Change {
	t.Helper()
	st, err := Gather(context.Background(), h, task.Probes())
	if err != nil {
		t.Fatal(err)
	}
	c, err := task.Check(st, Env{})
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return c
}

// timeline runs check → apply → check: the first check must plan want,
// the second must plan nothing.
func timeline(t *testing.T, h hosts.Host, task Task, want Action) *Change {
	t.Helper()
	c := check(t, h, task)
	if c.Action != want {
		t.Fatalf("first check planned %v, want %v (%+v)", c.Action, want, c)
	}
	if err := task.Apply(context.Background(), h, c); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if again := check(t, h, task); again.Changed() {
		t.Fatalf("check after apply still plans %v: %+v", again.Action, again)
	}
	return c
}

func local() hosts.Host { return hosts.NewLocal("local") }

func str(s string) cty.Value { return cty.StringVal(s) }

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
