//go:build unix

package hosts

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The programs hako starts here do not get the plan variables hako was
// handed in its environment (a secret, often): ssh -G, a ProxyCommand and
// a local host's shell.
func TestChildrenDoNotGetPlanVariables(t *testing.T) {
	t.Setenv("HAKO_VAR_token", "s3cr3t-CHILD")
	t.Setenv("HAKO_CHILDENV_KEPT", "kept")

	bin := filepath.Join(t.TempDir(), "ssh")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho hostname h\nenv | sed -n 's/^HAKO_\\([^=]*\\)=.*/env \\1/p'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	m, err := runSSHG(t.Context(), bin, []string{"-G", "h"})
	if err != nil {
		t.Fatal(err)
	}
	// Other HAKO_ variables of the test's own environment (a CI run sets
	// some) pass as they should: only the plan variables are judged.
	if got := " " + strings.Join(m["env"], " ") + " "; strings.Contains(got, " VAR_") || !strings.Contains(got, " CHILDENV_KEPT ") {
		t.Errorf("ssh -G saw HAKO_ variables %q, want CHILDENV_KEPT and no VAR_", got)
	}

	conn, closer, err := proxyCommandConn("env")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(conn)
	conn.Close()
	closer.Close()
	if got := hakoVars(string(out)); strings.Contains(got, "HAKO_VAR_") || !strings.Contains(got, "HAKO_CHILDENV_KEPT=kept") {
		t.Errorf("ProxyCommand's HAKO_ variables: %q", got)
	}

	res, err := NewLocal("local").Run(t.Context(), "env")
	if err != nil {
		t.Fatal(err)
	}
	if got := hakoVars(string(res.Stdout)); strings.Contains(got, "HAKO_VAR_") || !strings.Contains(got, "HAKO_CHILDENV_KEPT=kept") {
		t.Errorf("a local host's shell's HAKO_ variables: %q", got)
	}
}

// hakoVars is the HAKO_ lines of env's output.
func hakoVars(env string) string {
	var vs []string
	for _, l := range strings.Split(env, "\n") {
		if strings.HasPrefix(l, "HAKO_") {
			vs = append(vs, l)
		}
	}
	return strings.Join(vs, " ")
}
