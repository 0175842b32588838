package hosts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// marksIn points the guard's marks at dir for the test.
func marksIn(t *testing.T, dir string) {
	old := guardMarks
	guardMarks = dir + "/*/rolledback-conn."
	t.Cleanup(func() { guardMarks = old })
}

// Once a guard on the host has rolled back the changes of a connection
// (its mark is there), every command of that connection and every SFTP
// server it starts refuses: nothing is run, nothing written, and the error
// says why. The guard's own commands (GuardCommand) still run; another
// connection is not concerned.
func TestGuardMarkRefusesTheConnection(t *testing.T) {
	for _, c := range []struct {
		name string
		dial func(t *testing.T) *SSHHost
	}{
		{"become", func(t *testing.T) *SSHHost {
			requireSudo(t)
			f := newFixture(t)
			f.cfg.Become = true
			return f.dial(t)
		}},
		{"become-fake-sudo", func(t *testing.T) *SSHHost {
			f, _ := sudoFixture(t, "", "")
			return f.dial(t)
		}},
		{"become-password", func(t *testing.T) *SSHHost {
			f, _ := sudoFixture(t, testBecomePassword, "")
			f.cfg.BecomePassword = testBecomePassword
			return f.dial(t)
		}},
		// Root without become: the commands, and so the writes that
		// start with one, refuse too (see also
		// TestRootLoginSFTPServerCarriesTheConnection).
		{"root-login", func(t *testing.T) *SSHHost {
			f := newFixture(t, withUser("root"))
			f.cfg.User = "root"
			return f.dial(t)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			marks := t.TempDir()
			marksIn(t, marks)
			h := c.dial(t)
			other := c.dial(t)
			ctx := t.Context()
			dir := t.TempDir()
			target := filepath.Join(dir, "late")
			if res, err := h.Run(ctx, "echo before"); err != nil || string(res.Stdout) != "before\n" {
				t.Fatalf("before the mark: %+v %v", res, err)
			}
			if err := os.MkdirAll(filepath.Join(marks, "20260101T000000-0123456789abcdef"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(marks, "20260101T000000-0123456789abcdef", "rolledback-conn."+h.conn), nil, 0o600); err != nil {
				t.Fatal(err)
			}

			res, err := h.Run(ctx, "echo late >"+target)
			if !errors.Is(err, ErrGuardRolledBack) || res.ExitCode != -1 || !strings.Contains(err.Error(), `host "box"`) {
				t.Errorf("Run after the mark: %+v %v", res, err)
			}
			err = h.WriteFile(ctx, FileWrite{Path: target, Content: []byte("late\n"), Mode: 0o644})
			if !errors.Is(err, ErrGuardRolledBack) {
				t.Errorf("WriteFile after the mark: %v", err)
			}
			if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s was written after the mark: %v", target, err)
			}

			if res, err := h.Run(GuardCommand(ctx), "echo guard"); err != nil || string(res.Stdout) != "guard\n" {
				t.Errorf("the guard's own command: %+v %v", res, err)
			}
			if res, err := other.Run(ctx, "echo other"); err != nil || string(res.Stdout) != "other\n" {
				t.Errorf("another connection: %+v %v", res, err)
			}
			// A script's own exit 86 is its own.
			if res, err := other.Run(context.Background(), "echo no >&2; exit 86"); err != nil || res.ExitCode != 86 {
				t.Errorf("exit 86 of a script: %+v %v", res, err)
			}
		})
	}
}

// The check is shell builtins only: a glob and a test, no process.
func TestGuardCheckIsBuiltins(t *testing.T) {
	c := guardCheck("0123456789abcdef0123456789abcdef")
	if strings.Contains(c, "$(") || strings.ContainsAny(c, "'`") {
		t.Errorf("guardCheck runs a command or holds a quote: %s", c)
	}
	if cmd := shellCommand(nil, "c0", "r0", 0, true); strings.Contains(cmd, "rolledback-conn") {
		t.Errorf("a guard command is checked: %s", cmd)
	}
	if cmd := shellCommand(nil, "c0", "r0", 0, false); !strings.Contains(cmd, "rolledback-conn.c0;") {
		t.Errorf("a command is not checked: %s", cmd)
	}
}

// Logged in as root without become, hako can arm a guard, so its SFTP
// server must be one the guard's check refuses and its rollback ends:
// started as a command carrying HAKO_CONN behind guardCheck, not as
// sshd's sftp subsystem, which carries neither. On a host without
// sftp-server where Debian puts it (this machine may be one), the
// subsystem serves after all. Another login without become keeps the
// subsystem.
func TestRootLoginSFTPServerCarriesTheConnection(t *testing.T) {
	_, statErr := os.Stat(sftpServerPath)
	for _, user := range []string{"root", "tester"} {
		t.Run(user, func(t *testing.T) {
			f := newFixture(t, withUser(user))
			f.cfg.User = user
			h := f.dial(t)
			target := filepath.Join(t.TempDir(), "f")
			if err := h.WriteFile(t.Context(), FileWrite{Path: target, Content: []byte("x\n"), Mode: 0o644}); err != nil {
				t.Fatal(err)
			}
			var sftpStarts []string
			for _, s := range f.srv.startedSessions() {
				if strings.HasPrefix(s, "subsystem: ") || strings.Contains(s, sftpServerPath) {
					sftpStarts = append(sftpStarts, s)
				}
			}
			if user == "tester" {
				if len(sftpStarts) != 1 || sftpStarts[0] != "subsystem: sftp" {
					t.Errorf("a login that is not root started %q, not the subsystem", sftpStarts)
				}
				return
			}
			want := 1
			if statErr != nil {
				want = 2 // the command found none; then the subsystem
			}
			if len(sftpStarts) != want {
				t.Fatalf("SFTP server starts (%s: %v): %q", sftpServerPath, statErr, sftpStarts)
			}
			if !strings.HasPrefix(sftpStarts[0], "exec: env HAKO_CONN="+h.conn+" sh -c '"+guardCheck(h.conn)) {
				t.Errorf("root's SFTP server: %q", sftpStarts[0])
			}
			if want == 2 && sftpStarts[1] != "subsystem: sftp" {
				t.Errorf("root's SFTP server after the command found none: %q", sftpStarts[1])
			}
		})
	}
}
