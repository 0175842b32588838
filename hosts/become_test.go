package hosts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fakeSudo is a sudo for the test server, after sudo 1.9's behaviour:
// with FAKE_SUDO_PASSWORD set it asks for that password (-n: "a password
// is required"; -S: it reads exactly one line of standard input, then the
// command reads the rest), except for commands that FAKE_SUDO_NOPASSWD
// names (a NOPASSWD rule for them) unless one of their arguments is
// FAKE_SUDO_PASSWD_FOR (a PASSWD rule for those arguments), or without -k
// when FAKE_SUDO_CACHED
// is set (a timestamp cached by an earlier sudo). The file FAKE_SUDO_RULES,
// when it exists, is read first and may set these anew (sudoers changed
// during a run). It logs its arguments, one call a line, to FAKE_SUDO_LOG,
// as sudo does to the journal.
const fakeSudo = `#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_SUDO_LOG"
[ -n "$FAKE_SUDO_RULES" ] && [ -f "$FAKE_SUDO_RULES" ] && . "$FAKE_SUDO_RULES"
n= S= u= k=
while [ $# -gt 0 ]; do
  case $1 in
    -n) n=1 ;;
    -k) k=1 ;;
    -S) S=1 ;;
    -p) shift ;;
    -u) shift; u=$1 ;;
    --) shift; break ;;
    *) break ;;
  esac
  shift
done
ask=$FAKE_SUDO_PASSWORD
[ -n "$FAKE_SUDO_NOPASSWD" ] && [ "$1" = "$FAKE_SUDO_NOPASSWD" ] && ask=
[ -n "${FAKE_SUDO_PASSWD_FOR-}" ] && case " $* " in *" $FAKE_SUDO_PASSWD_FOR "*) true ;; *) false ;; esac && ask=$FAKE_SUDO_PASSWORD
[ -n "$FAKE_SUDO_CACHED" ] && [ -z "$k" ] && ask=
if [ -n "$ask" ]; then
  if [ -n "$n" ]; then echo "sudo: a password is required" >&2; exit 1; fi
  if [ -z "$S" ]; then echo "sudo: a terminal is required to read the password" >&2; exit 1; fi
  IFS= read -r pw || pw=
  if [ "$pw" != "$ask" ]; then
    echo "Sorry, try again." >&2
    echo "sudo: 1 incorrect password attempt" >&2
    exit 1
  fi
fi
SUDO_AS=$u exec "$@"
`

const testBecomePassword = "pw-7c1e-SECRET"

// sudoFixture is a test server whose sudo is fakeSudo, with the given
// password ("": NOPASSWD) and command that needs none.
func sudoFixture(t *testing.T, password, nopasswd string) (*fixture, string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(fakeSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(bin, "sudo.log")
	f := newFixture(t, withEnv("PATH="+bin+":"+os.Getenv("PATH"), "FAKE_SUDO_LOG="+log,
		"FAKE_SUDO_PASSWORD="+password, "FAKE_SUDO_NOPASSWD="+nopasswd, "FAKE_SUDO_RULES="+filepath.Join(bin, "rules")))
	f.cfg.Become = true
	return f, log
}

// A host whose sudo asks for a password runs scripts with it: the
// password goes to sudo on standard input, never on a command line, and
// the script's commands find their input empty, as without a password.
func TestBecomePasswordRuns(t *testing.T) {
	f, log := sudoFixture(t, testBecomePassword, "")
	f.cfg.BecomePassword = testBecomePassword
	h := f.dial(t)
	res, err := h.Run(t.Context(), "echo out; echo err >&2; echo \"in:$(cat)\"; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "out\nin:\n" || string(res.Stderr) != "err\n" || res.ExitCode != 3 {
		t.Errorf("got %q %q %d", res.Stdout, res.Stderr, res.ExitCode)
	}
	calls := readFile(t, log)
	if strings.Contains(calls, testBecomePassword) {
		t.Errorf("the password is on a sudo command line:\n%s", calls)
	}
	if !strings.Contains(calls, "-k -S -p  -- env HAKO_RUN=") {
		t.Errorf("the script did not go through sudo -k -S:\n%s", calls)
	}
}

// Without a password, such a host is refused by its first command, with a
// message that names the host and says how to give the password; nothing
// of the command runs, and everything after it is refused the same way
// without asking sudo again.
func TestBecomePasswordMissing(t *testing.T) {
	f, log := sudoFixture(t, testBecomePassword, "")
	h := f.dial(t)
	dir := t.TempDir()
	_, err := h.Run(t.Context(), "touch "+Quote(filepath.Join(dir, "ran")))
	wantContains(t, err, `host "box"`, `sudo asks user "tester" for a password to become root`,
		"-ask-become-password", "become_password")
	if !errors.Is(err, ErrBecomePassword) {
		t.Errorf("%v is not ErrBecomePassword", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the command ran")
	}
	calls := readFile(t, log)
	_, err = h.Run(t.Context(), "true")
	if !errors.Is(err, ErrBecomePassword) {
		t.Errorf("second Run: %v, want ErrBecomePassword", err)
	}
	err = h.WriteFile(t.Context(), FileWrite{Path: filepath.Join(dir, "f"), Mode: 0o644})
	if !errors.Is(err, ErrBecomePassword) {
		t.Errorf("WriteFile: %v, want ErrBecomePassword", err)
	}
	if again := readFile(t, log); again != calls {
		t.Errorf("sudo was asked again after it refused:\n%s", strings.TrimPrefix(again, calls))
	}
}

// A wrong password is refused by the first command, once (sudo would
// take the script's lines as further attempts; a second attempt would
// count towards a lockout), and is not quoted.
func TestBecomePasswordWrong(t *testing.T) {
	f, log := sudoFixture(t, testBecomePassword, "")
	f.cfg.BecomePassword = "wrong-0d2b-SECRET"
	h := f.dial(t)
	_, err := h.Run(t.Context(), "true")
	wantContains(t, err, `host "box"`, `sudo refused the become password of user "tester"`, "incorrect password attempt")
	if err != nil && strings.Contains(err.Error(), "wrong-0d2b-SECRET") {
		t.Errorf("the password is in the error: %v", err)
	}
	if _, err := h.Run(t.Context(), "true"); !errors.Is(err, ErrBecomePassword) {
		t.Errorf("second Run: %v, want ErrBecomePassword", err)
	}
	// The command's own try with sudo -n, the check without, then with
	// the password.
	calls := readFile(t, log)
	if n := strings.Count(calls, "\n"); n != 3 || strings.Count(calls, "-S") != 1 {
		t.Errorf("sudo was called %d times, want 3 (once with the password):\n%s", n, calls)
	}
}

// Where sudo asks for no password, none is sent even when one is given:
// the commands are plain `sudo -n`.
func TestBecomeNoPasswordNeeded(t *testing.T) {
	f, log := sudoFixture(t, "", "")
	f.cfg.BecomePassword = testBecomePassword
	h := f.dial(t)
	for range 2 {
		res, err := h.Run(t.Context(), `echo "in:$(cat)"`)
		if err != nil || string(res.Stdout) != "in:\n" || res.ExitCode != 0 {
			t.Fatalf("got %+v %v", res, err)
		}
	}
	calls := readFile(t, log)
	if strings.Contains(calls, "-S") || !strings.Contains(calls, "-n -- env HAKO_RUN=") {
		t.Errorf("want sudo -n only:\n%s", calls)
	}
}

// Where sudo asks for no password, a run costs no session (and no sudo)
// for finding that out: the first command runs at once with `sudo -k -n`
// and settles it, and the SFTP server started after it, and the commands
// after it, use sudo -n. Two commands and a file write: two exec
// sessions, three sudo calls.
func TestBecomeCheckedByTheFirstCommand(t *testing.T) {
	f, log := sudoFixture(t, "", "")
	h := f.dial(t)
	if n := f.srv.execs.Load(); n != 0 {
		t.Errorf("Dial started %d commands, want none", n)
	}
	res, err := h.Run(t.Context(), "echo first; echo err >&2; exit 4")
	if err != nil || string(res.Stdout) != "first\n" || string(res.Stderr) != "err\n" || res.ExitCode != 4 {
		t.Fatalf("first Run: %+v %v", res, err)
	}
	if res, err := h.Run(t.Context(), "echo second"); err != nil || string(res.Stdout) != "second\n" {
		t.Fatalf("second Run: %+v %v", res, err)
	}
	// The SFTP server may be missing here: its sudo call is what counts.
	_ = h.WriteFile(t.Context(), FileWrite{Path: filepath.Join(t.TempDir(), "f"), Content: []byte("x"), Mode: 0o644})
	if n := f.srv.execs.Load(); n != 3 {
		t.Errorf("%d exec sessions for two commands and the SFTP server, want 3", n)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, log)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "-k -n -- env HAKO_RUN=") ||
		!strings.HasPrefix(lines[1], "-n -- env HAKO_RUN=") || !regexp.MustCompile(`^-n -- env HAKO_CONN=[0-9a-f]{32} sh -c for hako_g in .*rolledback-conn\.[0-9a-f]{32};.* exec `+sftpServerPath+` -u 077$`).MatchString(lines[2]) {
		t.Errorf("sudo calls:\n%s", strings.Join(lines, "\n"))
	}
}

// Commands run at once while the first one still settles sudo wait for
// it, then run through what it settled; a file written first checks sudo
// by itself.
func TestBecomeSettledOnce(t *testing.T) {
	f, log := sudoFixture(t, testBecomePassword, "")
	f.cfg.BecomePassword = testBecomePassword
	h := f.dial(t)
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			res, err := h.Run(t.Context(), fmt.Sprintf("echo %d", i))
			if err == nil && string(res.Stdout) != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("run %d: %+v", i, res)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// One trial, one check without and one with the password, then the
	// four commands with it.
	calls := readFile(t, log)
	if n := strings.Count(calls, "\n"); n != 7 || strings.Count(calls, "-k -n -- env") != 1 {
		t.Errorf("%d sudo calls, want 7:\n%s", n, calls)
	}

	f2, log2 := sudoFixture(t, "", "")
	h2 := f2.dial(t)
	_ = h2.WriteFile(t.Context(), FileWrite{Path: filepath.Join(t.TempDir(), "f"), Content: []byte("x"), Mode: 0o644})
	if calls := readFile(t, log2); !regexp.MustCompile(`^-k -n -- true\n-n -- env HAKO_CONN=[0-9a-f]{32} sh -c .* exec ` + sftpServerPath + ` -u 077\n$`).MatchString(calls) {
		t.Errorf("sudo calls for a file written first:\n%s", calls)
	}
}

// A sudo that runs one of hako's commands without asking (a NOPASSWD rule
// for it alone, added during the run) leaves the password line unread:
// the command must then run nothing, and say why, instead of taking the
// password for a line of the script.
func TestBecomePasswordNotAsked(t *testing.T) {
	f, log := sudoFixture(t, testBecomePassword, "")
	f.cfg.BecomePassword = testBecomePassword
	h := f.dial(t)
	if res, err := h.Run(t.Context(), "true"); err != nil || res.ExitCode != 0 {
		t.Fatalf("first Run: %+v %v", res, err)
	}
	writeFile(t, filepath.Join(filepath.Dir(log), "rules"), "FAKE_SUDO_NOPASSWD=env\n")
	dir := t.TempDir()
	res, err := h.Run(t.Context(), "touch "+Quote(filepath.Join(dir, "ran")))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != becomeNoPrompt || !strings.Contains(string(res.Stderr), "without asking for the become password") {
		t.Errorf("got %+v", res)
	}
	if out := string(res.Stdout) + string(res.Stderr); strings.Contains(out, testBecomePassword) {
		t.Errorf("the password is in the output: %q", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the script ran")
	}
}

// A sudo that asks for a password for some of hako's commands only (here
// all but env, which runs the scripts, save env running the SFTP server)
// runs the scripts through sudo -n, as it allows, and the SFTP server it
// refuses says why: the rules must ask for all of hako's commands or for
// none.
func TestBecomeMixedRules(t *testing.T) {
	f, log := sudoFixture(t, testBecomePassword, "env")
	writeFile(t, filepath.Join(filepath.Dir(log), "rules"), "FAKE_SUDO_PASSWD_FOR="+sftpServerPath+"\n")
	f.cfg.BecomePassword = testBecomePassword
	h := f.dial(t)
	if res, err := h.Run(t.Context(), "echo ran"); err != nil || string(res.Stdout) != "ran\n" {
		t.Fatalf("Run: %+v %v", res, err)
	}
	err := h.WriteFile(t.Context(), FileWrite{Path: filepath.Join(t.TempDir(), "f"), Mode: 0o644})
	wantContains(t, err, `host "box"`, "a password is required", "must ask for a password for all of the commands hako runs, or for none")
	if err != nil && strings.Contains(err.Error(), testBecomePassword) {
		t.Errorf("the password is in the error: %v", err)
	}
}

// The marker is random per connection: a password that looks like a
// marker still stops a script whose sudo did not ask for it, and the
// password shows nowhere.
func TestBecomeMarkerIsNotGuessable(t *testing.T) {
	const password = "hako-become"
	f, log := sudoFixture(t, password, "")
	f.cfg.BecomePassword = password
	h1, h2 := f.dial(t), f.dial(t)
	for _, h := range []*SSHHost{h1, h2} {
		if res, err := h.Run(t.Context(), "true"); err != nil || res.ExitCode != 0 {
			t.Fatalf("first Run: %+v %v", res, err)
		}
	}
	if h1.sudo.marker == h2.sudo.marker || !strings.HasPrefix(h1.sudo.marker, "hako-become-") {
		t.Fatalf("markers %q and %q: want a new random one per connection", h1.sudo.marker, h2.sudo.marker)
	}
	writeFile(t, filepath.Join(filepath.Dir(log), "rules"), "FAKE_SUDO_NOPASSWD=env\n")
	dir := t.TempDir()
	res, err := h1.Run(t.Context(), "touch "+Quote(filepath.Join(dir, "ran")))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != becomeNoPrompt {
		t.Errorf("got %+v, want exit %d", res, becomeNoPrompt)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the script ran")
	}
	if out := string(res.Stdout) + string(res.Stderr); strings.Contains(strings.ReplaceAll(out, "become password", ""), password) {
		t.Errorf("the password is in the output: %q", out)
	}
}

// become_user: sudo -u USER, and files are written as that user (here the
// fake sudo does not switch users: the user id comes from `id -u`).
func TestBecomeUser(t *testing.T) {
	f, log := sudoFixture(t, testBecomePassword, "")
	f.cfg.BecomePassword, f.cfg.BecomeUser = testBecomePassword, "app"
	h := f.dial(t)
	res, err := h.Run(t.Context(), `echo "$SUDO_AS"`)
	if err != nil || string(res.Stdout) != "app\n" {
		t.Fatalf("got %+v %v", res, err)
	}
	uid, err := h.writerUID(t.Context())
	if err != nil || uid != os.Getuid() {
		t.Errorf("writerUID: %d %v, want %d", uid, err, os.Getuid())
	}
	if calls := readFile(t, log); !strings.Contains(calls, "-k -n -u app -- env") || !strings.Contains(calls, "-u app -- true") {
		t.Errorf("no sudo -u app:\n%s", calls)
	}
}

// The password is one line for sudo -S: a line break would make the rest
// of it the script's first line. Refused at connect, before sudo is run.
func TestBecomePasswordLineBreak(t *testing.T) {
	f, _ := sudoFixture(t, testBecomePassword, "")
	f.cfg.BecomePassword = "two\nlines"
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, `host "box"`, "line break")
	if err != nil && strings.Contains(err.Error(), "lines") {
		t.Errorf("the password is in the error: %v", err)
	}
}

// A timestamp sudo cached for the login user (timestamp_type=global, or a
// sudo of the user's a moment ago) does not make a host whose sudo asks
// for a password look like one that asks for none: that would hold only
// until the timestamp runs out, in the middle of a run. Without the
// password the first command is refused; with it every command goes
// through sudo -k -S and the password is checked.
func TestBecomeCachedTimestampIgnored(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(fakeSudo), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(bin, "sudo.log")
	f := newFixture(t, withEnv("PATH="+bin+":"+os.Getenv("PATH"), "FAKE_SUDO_LOG="+log,
		"FAKE_SUDO_PASSWORD="+testBecomePassword, "FAKE_SUDO_CACHED=1"))
	f.cfg.Become = true
	_, err := f.dial(t).Run(t.Context(), "true")
	if !errors.Is(err, ErrBecomePassword) {
		t.Fatalf("first command without the password where sudo has a cached timestamp: %v, want ErrBecomePassword", err)
	}
	f.cfg.BecomePassword = "wrong-5a1c"
	_, err = f.dial(t).Run(t.Context(), "true")
	wantContains(t, err, "sudo refused the become password")
	f.cfg.BecomePassword = testBecomePassword
	h := f.dial(t)
	if res, err := h.Run(t.Context(), "echo ok"); err != nil || string(res.Stdout) != "ok\n" {
		t.Fatalf("Run: %+v %v", res, err)
	}
	if calls := readFile(t, log); !strings.Contains(calls, "-k -S -p  -- env HAKO_RUN=") {
		t.Errorf("the script did not go through sudo -k -S:\n%s", calls)
	}
}

// sudo says why it fails first and what it gave up on last: the message
// keeps every line, on one line, bounded, with no control characters.
func TestSudoMessageKeepsTheCause(t *testing.T) {
	for _, c := range []struct{ stderr, want string }{
		{"sudo: /etc/sudoers is world writable\nsudo: no valid sudoers sources found, quitting\nsudo: error initializing audit plugin sudoers_audit\n",
			"sudo: /etc/sudoers is world writable; sudo: no valid sudoers sources found, quitting; sudo: error initializing audit plugin sudoers_audit"},
		{"sudo: a password is required\n", "sudo: a password is required"},
		{"\n \n", "no message on stderr"},
		{"a\na\nb\x1b[2J\n", "a; b?[2J"},
		{strings.Repeat("line\n", 3) + "1\n2\n3\n4\n5\n6\n7\n", "line; 1; 2; 3; 4; 5; …"},
	} {
		if got := sudoMessage(c.stderr); got != c.want {
			t.Errorf("sudoMessage(%q) = %q, want %q", c.stderr, got, c.want)
		}
	}
	if got := sudoMessage(strings.Repeat("x", 5000)); len(got) > 610 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long message is not cut: %d bytes", len(got))
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
