package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A new user keeps the secret in secrets.hcl beside the plan and forgets
// -var-file: no command prints the secret, each says to pass the file with
// -var-file, and no host is contacted.
func TestVarFileBesideThePlanIsNotShown(t *testing.T) {
	port, accepted := listener(t)
	dir := planDir(t, `variable "pppoe_password" {
  type      = string
  sensitive = true
}
`+hostBlock(port)+`
task "file" "chap" {
  path    = "/etc/ppp/chap-secrets"
  content = "user * ${var.pppoe_password} *\n"
}
`)
	for name, text := range map[string]string{
		"parses":     "pppoe_user     = \"bob\"\npppoe_password = \"HUNTER2-pppoe\"\n",
		"is broken":  "pppoe_password = \"HUNTER2-pppoe\n",
		"bare value": "pppoe_password = HUNTER2-pppoe\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, "secrets.hcl"), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"validate", "plan", "apply"} {
			code, stdout, stderr := hako(t, cmd, dir)
			if code != 1 || strings.Contains(stdout+stderr, "HUNTER2") || !strings.Contains(stderr, "-var-file") {
				t.Errorf("%s when secrets.hcl %s: exit %d:\n%s%s", cmd, name, code, stdout, stderr)
			}
		}
	}
	if n := accepted(); n != 0 {
		t.Errorf("%d connections to the host", n)
	}
}
