package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func hako(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	code = dispatch(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func planDir(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plan.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// listener counts connection attempts to prove that no host was contacted.
func listener(t *testing.T) (port int, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	n := make(chan int, 1)
	n <- 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			n <- <-n + 1
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, func() int {
		time.Sleep(50 * time.Millisecond)
		v := <-n
		n <- v
		return v
	}
}

func hostBlock(port int) string {
	return `host "pi" {
  address     = "127.0.0.1"
  port        = ` + strconv.Itoa(port) + `
  user        = "pi"
  known_hosts = "known_hosts"
}
`
}

func TestBadPlanContactsNoHost(t *testing.T) {
	port, accepted := listener(t)
	dir := planDir(t, hostBlock(port)+`
task "file" "motd" {
  path    = "/etc/motd"
  content = templatefile("missing.tftpl", {})
}
`)
	for _, cmd := range []string{"plan", "apply"} {
		code, stdout, stderr := hako(t, cmd, dir)
		if code != 1 {
			t.Errorf("%s exit %d", cmd, code)
		}
		if !strings.Contains(stderr, "plan.hcl line 10") || !strings.Contains(stderr, `no file exists at "missing.tftpl"`) {
			t.Errorf("%s stderr:\n%s", cmd, stderr)
		}
		if stdout != "" {
			t.Errorf("%s printed %q", cmd, stdout)
		}
	}
	if n := accepted(); n != 0 {
		t.Errorf("%d connections to the host", n)
	}
}

func TestValidate(t *testing.T) {
	dir := planDir(t, `variable "address" { type = string }
host "pi" {
  address = var.address
  user    = "pi"
}
task "directory" "app" { path = "/opt/app" }
`)
	code, stdout, stderr := hako(t, "validate", dir)
	if code != 0 || !strings.Contains(stdout, "1 host(s), 1 task(s)") {
		t.Errorf("validate: %d %q %q", code, stdout, stderr)
	}
	code, _, stderr = hako(t, "plan", dir)
	if code != 1 || !strings.Contains(stderr, "No value for required variable") {
		t.Errorf("plan without a value: %d %q", code, stderr)
	}
}

func TestFlagsAfterDirectory(t *testing.T) {
	port, _ := listener(t)
	dir := planDir(t, `variable "x" { type = number }
`+hostBlock(port))
	code, _, stderr := hako(t, "validate", dir, "-var", "x=notanumber")
	if code != 1 || !strings.Contains(stderr, "Invalid value for variable") {
		t.Errorf("a -var after DIR must be read: %d %q", code, stderr)
	}
	code, _, stderr = hako(t, "validate", dir, "other")
	if code != 1 || !strings.Contains(stderr, "expected one plan directory") {
		t.Errorf("two dirs: %d %q", code, stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, stderr := hako(t, "destroy"); code != 1 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("%d %q", code, stderr)
	}
}

func TestUnreachableHostNamesIt(t *testing.T) {
	port, _ := listener(t)
	dir := planDir(t, hostBlock(port)+`task "directory" "app" { path = "/opt/app" }
`)
	// The listener accepts and closes: the handshake fails.
	code, stdout, _ := hako(t, "apply", dir, "-connect-timeout", "2s")
	if code != 1 || !strings.Contains(stdout, "pi") || !strings.Contains(stdout, "pi  ok=0 changed=0 failed=1 skipped=1") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// -allow-risky takes the lockout checks' names only, on plan and apply.
func TestAllowRiskyNamesACheck(t *testing.T) {
	port, accepted := listener(t)
	dir := planDir(t, hostBlock(port))
	for _, cmd := range []string{"plan", "apply"} {
		code, _, stderr := hako(t, cmd, "-allow-risky", "ufw-lockdown", dir)
		if code != 1 || !strings.Contains(stderr, `unknown check "ufw-lockdown": the checks are ufw-lockout, password-auth-without-key, login-user-sudo, socket-activated-port`) {
			t.Errorf("%s: %d %q", cmd, code, stderr)
		}
	}
	if code, _, stderr := hako(t, "validate", "-allow-risky", "ufw-lockout", dir); code != 1 || !strings.Contains(stderr, "flag provided but not defined: -allow-risky") {
		t.Errorf("validate: %d %q", code, stderr)
	}
	if n := accepted(); n != 0 {
		t.Errorf("%d connections to the host", n)
	}
}

// A mistyped -reprovision name is an error before any host is contacted.
func TestReprovisionNamesAHost(t *testing.T) {
	port, accepted := listener(t)
	dir := planDir(t, hostBlock(port))
	code, _, stderr := hako(t, "apply", "-reprovision", "pii", dir)
	if code != 1 || !strings.Contains(stderr, `-reprovision: the plan has no host "pii" (its hosts: pi)`) {
		t.Errorf("%d %q", code, stderr)
	}
	if n := accepted(); n != 0 {
		t.Errorf("%d connections to the host", n)
	}
}

// A -var-file kept in the plan directory is read as values, not as plan
// (Terraform has .tfvars for that): its secret is not shown as a plan line.
func TestVarFileInThePlanDirectory(t *testing.T) {
	port, _ := listener(t)
	dir := planDir(t, `variable "token" {
  type      = string
  sensitive = true
}
`+hostBlock(port))
	vars := filepath.Join(dir, "secrets.hcl")
	if err := os.WriteFile(vars, []byte("token = \"HUNTER2-secret\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := hako(t, "validate", "-var-file", vars, dir)
	if code != 0 || strings.Contains(stdout+stderr, "HUNTER2") {
		t.Errorf("exit %d:\n%s%s", code, stdout, stderr)
	}
}

// -accept-host-key takes NAME=SHA256:FINGERPRINT of a host of the plan;
// anything else is an error before any host is contacted.
func TestAcceptHostKeyNeedsAHostAndAFingerprint(t *testing.T) {
	port, accepted := listener(t)
	dir := planDir(t, hostBlock(port))
	const fp = "SHA256:pF4k34wcxq855vzE9djJSrqIIXhHD3TTux4faGJlqqo"
	for arg, want := range map[string]string{
		"pii=" + fp:            `-accept-host-key: the plan has no host "pii" (its hosts: pi)`,
		"pi":                   "want NAME=SHA256:FINGERPRINT",
		"pi=" + fp[:20]:        "is not a SHA256 fingerprint",
		"pi=MD5:" + fp[7:]:     "is not a SHA256 fingerprint",
		"pi=ssh-ed25519 " + fp: "is not a SHA256 fingerprint",
	} {
		if code, _, stderr := hako(t, "plan", "-accept-host-key", arg, dir); code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("%s: %d %q", arg, code, stderr)
		}
	}
	if n := accepted(); n != 0 {
		t.Errorf("%d connections to the host", n)
	}
}

// plan -json writes one JSON document on stdout, also when a host cannot
// be reached, and the exit code follows its summary.
func TestPlanJSONFlag(t *testing.T) {
	port, _ := listener(t)
	dir := planDir(t, hostBlock(port)+`task "directory" "app" { path = "/opt/app" }
`)
	code, stdout, _ := hako(t, "plan", "-json", dir, "-connect-timeout", "2s")
	var doc struct {
		Hosts []struct {
			Name, Error string
			Port        int
		}
		Summary struct {
			Errors int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, stdout)
	}
	if code != 1 || len(doc.Hosts) != 1 || doc.Hosts[0].Name != "pi" || doc.Hosts[0].Port != port ||
		!strings.Contains(doc.Hosts[0].Error, "pi") || doc.Summary.Errors != 1 {
		t.Errorf("exit %d: %+v\n%s", code, doc, stdout)
	}
}

// -confirm guards every change that can cut SSH (run/policy.go), as the
// README says, not port moves alone.
func TestConfirmHelp(t *testing.T) {
	_, stdout, stderr := hako(t, "apply", "-h")
	help := stdout + stderr
	i := strings.Index(help, "-confirm")
	if i < 0 {
		t.Fatalf("no -confirm in:\n%s", help)
	}
	line := strings.Join(strings.Fields(help[i:min(len(help), i+600)]), " ")
	for _, want := range []string{"a change that can cut SSH", "/etc/ssh", "network or sudo configuration", "a user's sudo rule", "the firewall", "Port moves and changes to SSH's configuration", "PAM", "are always guarded (default 10m)"} {
		if !strings.Contains(line, want) {
			t.Errorf("-confirm's help lacks %q:\n%s", want, help[i:])
		}
	}
}
