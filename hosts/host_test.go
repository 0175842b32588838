package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// eachHost runs body against every Host implementation: Local, SSH with the
// sftp subsystem (pkg/sftp server), and SSH with become, where the test
// server runs `sudo -n … sftp-server` through the real sudo and OpenSSH
// sftp-server (skipped when those are not usable here).
func eachHost(t *testing.T, body func(t *testing.T, h Host)) {
	t.Run("local", func(t *testing.T) { body(t, NewLocal("local")) })
	t.Run("ssh", func(t *testing.T) { body(t, newFixture(t).dial(t)) })
	t.Run("ssh-become", func(t *testing.T) {
		requireSudo(t)
		f := newFixture(t)
		f.cfg.Become = true
		body(t, f.dial(t))
	})
}

func requireSudo(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(sftpServerPath); err != nil {
		t.Skipf("no %s: %v", sftpServerPath, err)
	}
	if err := exec.Command("sudo", "-n", "true").Run(); err != nil {
		t.Skipf("sudo -n does not work here: %v", err)
	}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown)")
	}
}

func TestRun(t *testing.T) {
	eachHost(t, func(t *testing.T, h Host) {
		ctx := t.Context()
		res, err := h.Run(ctx, "echo out; echo err >&2; exit 3")
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
			t.Errorf("got %q %q %d", res.Stdout, res.Stderr, res.ExitCode)
		}

		// The script is not on any command line (sudo logs those, ps shows
		// them): the shell running it has only the fixed one.
		res, err = h.Run(ctx, "tr '\\0' ' ' </proc/$$/cmdline; echo; : script-marker")
		if err != nil || strings.Contains(string(res.Stdout), "script-marker") || !strings.Contains(string(res.Stdout), evalStdin+" \n") {
			t.Errorf("command line: %q %v", res.Stdout, err)
		}

		// The script's commands find stdin empty, not a hang.
		res, err = h.Run(ctx, "cat; echo done")
		if err != nil || string(res.Stdout) != "done\n" {
			t.Errorf("stdin: %q %v", res.Stdout, err)
		}

		// sh -c semantics, quoting survives the sudo wrapping
		res, err = h.Run(ctx, `x="it's"; printf '%s|%s' "$x" "$(echo a b)"`)
		if err != nil || string(res.Stdout) != "it's|a b" {
			t.Errorf("quoting: %q %v", res.Stdout, err)
		}

		res, err = h.Run(ctx, "kill -9 $$")
		if err != nil || res.ExitCode != 137 {
			t.Errorf("killed: exit %d %v", res.ExitCode, err)
		}

		res, err = h.Run(ctx, "head -c 3000000 /dev/zero")
		if err != nil || len(res.Stdout) != 3000000 {
			t.Errorf("big output: %d bytes, %v", len(res.Stdout), err)
		}
	})
}

func TestRunCancel(t *testing.T) {
	eachHost(t, func(t *testing.T, h Host) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := h.Run(ctx, "sleep 30")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want DeadlineExceeded, got %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("cancel took %v", d)
		}
		// the host stays usable
		if res, err := h.Run(t.Context(), "echo ok"); err != nil || string(res.Stdout) != "ok\n" {
			t.Errorf("after cancel: %q %v", res.Stdout, err)
		}
	})
}

// dirNames lists a directory, to catch temp files left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func checkFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != content {
		t.Errorf("%s: content %q, want %q", path, b, content)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode() & modeBits; got != mode {
		t.Errorf("%s: mode %v, want %v", path, got, mode)
	}
}

func TestWriteFile(t *testing.T) {
	eachHost(t, func(t *testing.T, h Host) {
		ctx := t.Context()
		dir := t.TempDir()
		p := filepath.Join(dir, "motd")

		// new file: content and mode, even a mode the umask would not give
		if err := h.WriteFile(ctx, FileWrite{Path: p, Content: []byte("hello\n"), Mode: 0o664}); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, "hello\n", 0o664)

		// replace: new content and new mode; an empty file is fine too
		if err := h.WriteFile(ctx, FileWrite{Path: p, Content: nil, Mode: 0o600}); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, "", 0o600)

		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: many SFTP packets
		if err := h.WriteFile(ctx, FileWrite{Path: p, Content: big, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, string(big), 0o644)

		if got := dirNames(t, dir); !slices.Equal(got, []string{"motd"}) {
			t.Errorf("directory holds %v", got)
		}
	})
}

func TestWriteFileValidate(t *testing.T) {
	eachHost(t, func(t *testing.T, h Host) {
		ctx := t.Context()
		dir := t.TempDir()
		p := filepath.Join(dir, "sshd_config")
		if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		validate := `grep -qx ok %s || { echo "bad config in $(basename %s)" >&2; echo line 1; exit 3; }`

		err := h.WriteFile(ctx, FileWrite{Path: p, Content: []byte("broken\n"), Mode: 0o600, Validate: validate})
		var ve *ValidateError
		if !errors.As(err, &ve) {
			t.Fatalf("want ValidateError, got %v", err)
		}
		if ve.Command != validate || ve.Result.ExitCode != 3 ||
			!strings.HasPrefix(string(ve.Result.Stderr), "bad config in .sshd_config.hako-") ||
			string(ve.Result.Stdout) != "line 1\n" {
			t.Errorf("ValidateError = %+v (stdout %q, stderr %q)", ve, ve.Result.Stdout, ve.Result.Stderr)
		}
		for _, want := range []string{`"` + h.Name() + `"`, p, "validate", "exit code 3", "bad config", "target was not changed"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		checkFile(t, p, "old\n", 0o644)
		if got := dirNames(t, dir); !slices.Equal(got, []string{"sshd_config"}) {
			t.Errorf("temp file left behind: %v", got)
		}

		if err := h.WriteFile(ctx, FileWrite{Path: p, Content: []byte("ok\n"), Mode: 0o600, Validate: validate}); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, "ok\n", 0o600)
		if got := dirNames(t, dir); !slices.Equal(got, []string{"sshd_config"}) {
			t.Errorf("directory holds %v", got)
		}
	})
}

func TestWriteFileOwner(t *testing.T) {
	requireRoot(t) // the test server runs commands as this process's user
	eachHost(t, func(t *testing.T, h Host) {
		ctx := t.Context()
		dir := t.TempDir()
		p := filepath.Join(dir, "f")
		owned := func(uid, gid int) {
			t.Helper()
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if u, g, ok := fileOwner(st); !ok || u != uid || g != gid {
				t.Errorf("owner %d:%d (known: %v), want %d:%d", u, g, ok, uid, gid)
			}
		}
		if err := h.WriteFile(ctx, FileWrite{Path: p, Content: []byte("x"), Mode: 0o640, Owner: "1234", Group: "2345"}); err != nil {
			t.Fatal(err)
		}
		owned(1234, 2345)
		checkFile(t, p, "x", 0o640)

		// chown clears setuid/setgid; the mode must still come out right
		if err := h.WriteFile(ctx, FileWrite{Path: p, Content: []byte("y"), Mode: 0o755 | fs.ModeSetuid | fs.ModeSetgid, Owner: "nobody"}); err != nil {
			t.Fatal(err)
		}
		checkFile(t, p, "y", 0o755|fs.ModeSetuid|fs.ModeSetgid)

		// group only, by name
		if err := h.WriteFile(ctx, FileWrite{Path: p, Content: []byte("z"), Mode: 0o644, Group: "root"}); err != nil {
			t.Fatal(err)
		}
		owned(0, 0)

		err := h.WriteFile(ctx, FileWrite{Path: p, Content: []byte("never"), Mode: 0o644, Owner: "no-such-user-hako", Validate: "true %s"})
		if err == nil || !strings.Contains(err.Error(), "set owner/group") || !strings.Contains(err.Error(), "no-such-user-hako") {
			t.Errorf("bad owner: %v", err)
		}
		var ve *ValidateError
		if errors.As(err, &ve) {
			t.Errorf("a chown failure is not a ValidateError: %v", err)
		}
		checkFile(t, p, "z", 0o644)
		if got := dirNames(t, dir); !slices.Equal(got, []string{"f"}) {
			t.Errorf("temp file left behind: %v", got)
		}
	})
}

func TestWriteFileErrors(t *testing.T) {
	eachHost(t, func(t *testing.T, h Host) {
		ctx := t.Context()
		dir := t.TempDir()
		cases := []struct {
			w    FileWrite
			want string
		}{
			{FileWrite{Path: filepath.Join(dir, "missing", "f"), Mode: 0o644}, "parent directory " + dir + "/missing does not exist"},
			{FileWrite{Path: "relative/f", Mode: 0o644}, "path must be absolute"},
			{FileWrite{Path: dir + "/", Mode: 0o644}, "path must name a file"},
			{FileWrite{Path: filepath.Join(dir, "f"), Mode: 0o644, Validate: "true"}, "has no %s"},
			{FileWrite{Path: dir, Mode: 0o644}, "rename temp file over target"}, // target is a directory
		}
		for _, c := range cases {
			err := h.WriteFile(ctx, c.w)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), h.Name()) {
				t.Errorf("%+v: got %v, want %q", c.w, err, c.want)
			}
		}
		if got := dirNames(t, dir); len(got) != 0 {
			t.Errorf("left behind: %v", got)
		}
	})
}

// Many Runs and writes at once on one connection: all must succeed although
// the server, like sshd, refuses more than 10 sessions per connection.
func TestConcurrent(t *testing.T) {
	eachHost(t, func(t *testing.T, h Host) {
		ctx := t.Context()
		dir := t.TempDir()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 20 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				res, err := h.Run(ctx, fmt.Sprintf("sleep 0.1; echo %d", i))
				if err != nil || string(res.Stdout) != fmt.Sprintf("%d\n", i) {
					errs <- fmt.Errorf("run %d: %q %v", i, res.Stdout, err)
				}
			}()
			go func() {
				defer wg.Done()
				p := filepath.Join(dir, fmt.Sprintf("f%d", i))
				if err := h.WriteFile(ctx, FileWrite{Path: p, Content: []byte(p), Mode: 0o600, Validate: "grep -q f %s"}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if got := len(dirNames(t, dir)); got != 20 {
			t.Errorf("%d files, want 20", got)
		}
	})
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", "''", `"$HOME" $(id) ` + "`x`", `back\slash`, "new\nline", "-n", "%s", "*"} {
		out, err := exec.Command("sh", "-c", "printf '%s' "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("Quote(%q) = %s: sh printed %q (%v)", s, Quote(s), out, err)
		}
	}
}
