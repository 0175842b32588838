// Package e2e drives the built hako binary against real Debian test hosts
// (see internal/testhost). The tests skip where hosts cannot run, unless
// HAKO_E2E_REQUIRED=1 (CI), where that is a failure.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/hakobin"
)

var hakoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hako-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if hakoBin, err = hakobin.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// hako reads ~/.ssh/config (through `ssh -G`) as ssh does: the tests
	// must not depend on this machine's. An empty home, after the build
	// (which wants the real one for its cache); a test that is about
	// ssh_config sets its own.
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("HOME", home)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the hako binary.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout\n%s--- stderr\n%s", r.code, r.elapsed.Round(time.Millisecond), r.stdout, r.stderr)
}

// hako runs the binary with NO_COLOR and without any ssh-agent, so only
// the plan's identity file authenticates.
func hako(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(hakoBin, withConnectTimeout(args)...)
	cmd.Env = append(filteredEnv(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running hako: %v", err)
	}
	t.Logf("hako %s: exit %d in %v", strings.ReplaceAll(strings.Join(args, " "), token, "(token)"), r.code, r.elapsed.Round(time.Millisecond))
	if os.Getenv("HAKO_E2E_SHOW") != "" {
		t.Log(r)
	}
	return r
}

// withConnectTimeout gives plan and apply a generous -connect-timeout
// unless the test sets one: CI runs these tests beside others on a loaded
// machine, where an sshd once took over 10 s (hako's default) to finish a
// handshake. The tests are about behaviour; bench/ is about speed.
func withConnectTimeout(args []string) []string {
	if len(args) == 0 || (args[0] != "plan" && args[0] != "apply") || slices.Contains(args, "-connect-timeout") {
		return args
	}
	return append([]string{args[0], "-connect-timeout", "30s"}, args[1:]...)
}

func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") && !strings.HasPrefix(kv, "HAKO_VAR_") {
			env = append(env, kv)
		}
	}
	return env
}

// repoPath is a path in the repository, from this package's directory.
func repoPath(p string) string { return filepath.Join("..", p) }
