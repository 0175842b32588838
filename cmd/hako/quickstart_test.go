package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The README's quick start commands, run by bash as written (a stand-in
// records what bin/hako receives): the secret typed at `read` reaches hako
// in its environment as HAKO_VAR_token, never in its arguments nor in the
// command text (shell history), and afterwards nothing of it is left set
// or exported in the shell.
func TestQuickStartSecretFromTheEnvironment(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(readme), "To configure your own machine")
	_, block, _ := strings.Cut(rest, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(l, "go build") {
			lines = append(lines, l)
		}
	}
	if !strings.Contains(block, "bin/hako plan") || !strings.Contains(block, "bin/hako apply") {
		t.Fatalf("no quick start commands found:\n%s", block)
	}

	const secret = "tok-from-read-5521"
	if strings.Count(block, "token=") != strings.Count(block, "HAKO_VAR_token=$") {
		t.Errorf("the quick start writes a token value in a command (shell history):\n%s", block)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	shim := "#!/bin/sh\n{ echo \"args: $*\"; echo \"env: ${HAKO_VAR_token-unset}\"; } >> " + log + "\n"
	if err := os.WriteFile(filepath.Join(dir, "bin", "hako"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	// After the block: what is still set in the shell, and exported.
	script := strings.Join(lines, "\n") + "\necho \"left: ${t-unset} ${HAKO_VAR_token-unset}\"; env | grep -c " + secret + " || true\n"
	cmd := exec.Command(bash, "-c", script)
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(secret+"\n")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("running the quick start: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	if strings.Count(string(calls), "env: "+secret+"\n") != 2 || strings.Contains(strings.Join(grepPrefix(string(calls), "args: "), "\n"), secret) {
		t.Errorf("plan and apply must each get the token in their environment only:\n%s", calls)
	}
	if string(out) != "left: unset unset\n0\n" {
		t.Errorf("after the quick start, the shell still holds the token:\n%s", out)
	}

	// The example plan takes it from there: with HAKO_VAR_token, plan gets
	// past the variables and contacts the host; without it, it stops at
	// the missing token.
	run := func() (code int, out string, contacted int) {
		port, accepted := listener(t)
		code, stdout, stderr := hako(t, "plan", "../../examples/quickstart", "-connect-timeout", "5s",
			"-var", "address=127.0.0.1", "-var", "port="+strconv.Itoa(port),
			"-var", "known_hosts="+filepath.Join(t.TempDir(), "known_hosts"))
		return code, stdout + stderr, accepted()
	}
	t.Setenv("HAKO_VAR_token", secret)
	code, out2, contacted := run()
	if contacted == 0 || strings.Contains(out2, "token") || strings.Contains(out2, secret) {
		t.Errorf("with HAKO_VAR_token: exit %d, host contacted %d times:\n%s", code, contacted, out2)
	}
	os.Unsetenv("HAKO_VAR_token")
	code, out2, contacted = run()
	if code != 1 || contacted != 0 || !strings.Contains(out2, "token") {
		t.Errorf("without HAKO_VAR_token: exit %d, host contacted %d times:\n%s", code, contacted, out2)
	}
}

// grepPrefix returns the lines of s that start with prefix.
func grepPrefix(s, prefix string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}
