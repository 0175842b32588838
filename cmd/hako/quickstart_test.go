package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The README's quick start passes the secret in the environment, never as
// a -var (kept in shell history, shown by ps), and the example plan takes
// it from there: with HAKO_VAR_token, plan gets past the variables and
// contacts the host; without it, it stops at the missing token.
func TestQuickStartSecretFromTheEnvironment(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(readme), "To configure your own machine")
	_, block, _ := strings.Cut(rest, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	if block == "" || strings.Contains(block, "token=") || !strings.Contains(block, "export HAKO_VAR_token") {
		t.Errorf("the quick start does not pass the token in the environment:\n%s", block)
	}

	const secret = "tok-from-env-5521"
	run := func() (code int, out string, contacted int) {
		port, accepted := listener(t)
		code, stdout, stderr := hako(t, "plan", "../../examples/quickstart", "-connect-timeout", "5s",
			"-var", "address=127.0.0.1", "-var", "port="+strconv.Itoa(port),
			"-var", "known_hosts="+filepath.Join(t.TempDir(), "known_hosts"))
		return code, stdout + stderr, accepted()
	}
	t.Setenv("HAKO_VAR_token", secret)
	code, out, contacted := run()
	if contacted == 0 || strings.Contains(out, "token") || strings.Contains(out, secret) {
		t.Errorf("with HAKO_VAR_token: exit %d, host contacted %d times:\n%s", code, contacted, out)
	}
	os.Unsetenv("HAKO_VAR_token")
	code, out, contacted = run()
	if code != 1 || contacted != 0 || !strings.Contains(out, "token") {
		t.Errorf("without HAKO_VAR_token: exit %d, host contacted %d times:\n%s", code, contacted, out)
	}
}
