package plan

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
	"github.com/hashicorp/hcl/v2"
)

func build(t *testing.T, in Inputs) (*Plan, hcl.Diagnostics) {
	t.Helper()
	cfg, diags := Load("testdata/good")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return Build(cfg, in)
}

func mustBuild(t *testing.T, in Inputs) *Plan {
	t.Helper()
	p, diags := build(t, in)
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	return p
}

func addrs(h *Host) []string {
	var out []string
	for _, s := range h.Steps {
		out = append(out, s.Task.Address().String())
	}
	return out
}

// freshCheck answers every probe as a fresh host would: nothing there.
func freshCheck(t *testing.T, task tasks.Task) *tasks.Change {
	t.Helper()
	a, err := (&probe.Fake{Else: probe.Fresh}).Answer(task.Probes())
	if err != nil {
		t.Fatal(err)
	}
	st := tasks.NewState(a)
	c, err := task.Check(st, tasks.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func itoa(i int) string { return string(rune('0' + i)) }

var baseInputs = Inputs{Args: []VarArg{{Assign: "address=10.0.0.5"}, {Assign: "token=s3cr3t-t0ken"}}}

func TestBuildHostsAndOrder(t *testing.T) {
	p := mustBuild(t, baseInputs)
	if len(p.Hosts) != 2 {
		t.Fatalf("%d hosts", len(p.Hosts))
	}
	pi, web := p.Hosts[0], p.Hosts[1]
	if pi.Conn.Address != "10.0.0.5" || pi.Conn.Port != 2222 || pi.Conn.User != "pi" || !pi.Conn.Become {
		t.Errorf("pi conn %+v", pi.Conn)
	}
	if want := filepath.Join("testdata/good", "keys/id_ed25519"); pi.Conn.IdentityFiles[0] != want {
		t.Errorf("identity file %v, want %s (relative to the plan)", pi.Conn.IdentityFiles, want)
	}
	if web.Conn.Port != 22 || web.Conn.Become {
		t.Errorf("web defaults %+v", web.Conn)
	}
	if got := strings.Join(addrs(pi), " "); got != "directory.app file.motd file.secret command.marker" {
		t.Errorf("pi order: %s", got)
	}
	if got := strings.Join(addrs(web), " "); got != "directory.app file.motd command.marker" {
		t.Errorf("web order (hosts = [\"pi\"] limits file.secret): %s", got)
	}
	if n := pi.Steps[1].Notify; len(n) != 1 || n[0] != "reload_motd" || pi.Handlers["reload_motd"] == nil {
		t.Errorf("notify %v handlers %v", n, pi.Handlers)
	}
}

func TestTemplateLocalsAndHost(t *testing.T) {
	p := mustBuild(t, baseInputs)
	c := freshCheck(t, p.Hosts[1].Steps[1].Task)
	d := c.Content.Diff()
	for _, want := range []string{"+HAKO hello from web", "+port 80"} {
		if !strings.Contains(d, want) {
			t.Errorf("motd diff lacks %q:\n%s", want, d)
		}
	}
}

func TestVariablePrecedence(t *testing.T) {
	varFile := filepath.Join(t.TempDir(), "vars.hcl")
	writeFile(t, varFile, "greeting = \"from-file\"\nports = [1, 2]\n")
	in := baseInputs
	in.Environ = []string{"HAKO_VAR_greeting=from-env", "HAKO_VAR_unrelated=x"}
	in.Args = append(append([]VarArg{}, in.Args...), VarArg{File: varFile}, VarArg{Assign: "ports=[8080]"})
	p := mustBuild(t, in)
	d := freshCheck(t, p.Hosts[0].Steps[1].Task).Content.Diff()
	if !strings.Contains(d, "HAKO from-file") || !strings.Contains(d, "port 8080") || strings.Contains(d, "port 1") {
		t.Errorf("file beats env, later -var beats file:\n%s", d)
	}
	in.Args = append(in.Args, VarArg{Assign: "greeting=from-flag"})
	d = freshCheck(t, mustBuild(t, in).Hosts[0].Steps[1].Task).Content.Diff()
	if !strings.Contains(d, "HAKO from-flag") {
		t.Errorf("a later -var wins:\n%s", d)
	}
}

func TestSensitiveStaysMarked(t *testing.T) {
	p := mustBuild(t, baseInputs)
	c := freshCheck(t, p.Hosts[0].Steps[2].Task)
	if !c.Content.Sensitive() || strings.Contains(c.Content.Diff(), "s3cr3t") {
		t.Errorf("secret file diff: %q", c.Content.Diff())
	}
	if freshCheck(t, p.Hosts[0].Steps[1].Task).Content.Sensitive() {
		t.Error("motd does not use the secret and must not be marked")
	}
}

func TestSensitiveErrorsAreScrubbed(t *testing.T) {
	cfg := loadSource(t, `
variable "pw" {
  sensitive = true
}
host "h" {
  address = "127.0.0.1"
  user    = "u"
}
task "file" "f" {
  path    = "/f"
  content = tostring(parseint(var.pw, 10))
}
`)
	_, diags := Build(cfg, Inputs{Args: []VarArg{{Assign: "pw=hunter2"}}})
	if !diags.HasErrors() {
		t.Fatal("expected an error")
	}
	var b strings.Builder
	_ = WriteDiagnostics(&b, cfg.Files(), diags, 0, false)
	if strings.Contains(b.String(), "hunter2") {
		t.Errorf("secret in diagnostics:\n%s", b.String())
	}
}

func TestUndeclaredAndInvalidVars(t *testing.T) {
	cases := map[string]VarArg{
		"Undeclared variable":        {Assign: "adress=1"},
		"Invalid -var option":        {Assign: "novalue"},
		"Invalid value for variable": {Assign: "ports=[\"x\"]"},
		"Cannot read variables file": {File: "/nonexistent/vars.hcl"},
	}
	for want, arg := range cases {
		in := baseInputs
		in.Args = append(append([]VarArg{}, in.Args...), arg)
		_, diags := build(t, in)
		if !diags.HasErrors() || !strings.Contains(render(diags), want) {
			t.Errorf("%+v: want %q, got:\n%s", arg, want, render(diags))
		}
	}
}

func TestValidateAllowsMissingValues(t *testing.T) {
	p, diags := build(t, Inputs{AllowMissing: true})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	if len(p.Hosts) != 2 {
		t.Errorf("%d hosts", len(p.Hosts))
	}
	_, diags = build(t, Inputs{})
	if !strings.Contains(render(diags), `The variable "address" has no default`) {
		t.Errorf("plan needs values:\n%s", render(diags))
	}
}

// An error in a variables file names the place, file:line,column, but
// shows no snippet (no Subject) and no detail quoting its text: the line
// may hold a secret.
func TestVarFileErrorsShowNoLine(t *testing.T) {
	for name, text := range map[string]string{
		"syntax":       "greeting = \n",
		"unterminated": "token = \"HUNTER2-secret\n",
		"function":     "token = upper(\"HUNTER2-secret\")\n",
		"duplicate":    "token = \"HUNTER2-secret\"\ntoken = \"HUNTER2-secret\"\n",
		// HCL's detail quotes the character after the backslash.
		"bad escape": "token = \"HUNT\\qER2\"\n",
	} {
		varFile := filepath.Join(t.TempDir(), "bad.hcl")
		writeFile(t, varFile, text)
		in := baseInputs
		in.Args = append(append([]VarArg{}, in.Args...), VarArg{File: varFile})
		_, diags := build(t, in)
		if !diags.HasErrors() || !strings.Contains(render(diags), varFile+":1,") && !strings.Contains(render(diags), varFile+":2,") {
			t.Errorf("%s: the error should name the place in the file:\n%s", name, render(diags))
		}
		for _, d := range diags {
			// The detail names the place and quotes nothing of the source.
			if d.Subject != nil || d.Context != nil || strings.Contains(d.Summary+d.Detail, "HUNT") ||
				strings.Contains(strings.ReplaceAll(d.Detail, varFile, ""), `"`) {
				t.Errorf("%s: %s: %s (subject %v)", name, d.Summary, d.Detail, d.Subject)
			}
		}
	}
}

func TestWhenAndServiceHandlers(t *testing.T) {
	cfg := loadSource(t, `
variable "connect" {
  type    = bool
  default = false
}
host "a" {
  address = "127.0.0.1"
  user    = "u"
}
host "b" {
  address = "127.0.0.2"
  user    = "u"
}
task "command" "connect" {
  command = "pon dsl-provider"
  when    = var.connect
}
task "command" "only_b" {
  command = "true"
  when    = host.name == "b"
}
handler "restart_ssh" {
  service = "ssh"
}
handler "reconnect" {
  command = "poff; pon"
  when    = var.connect
}
`)
	p, diags := Build(cfg, Inputs{})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	if got := strings.Join(addrs(p.Hosts[0]), " "); got != "" {
		t.Errorf("host a: %q", got)
	}
	if got := strings.Join(addrs(p.Hosts[1]), " "); got != "command.only_b" {
		t.Errorf("host b: %q", got)
	}
	if got := strings.Join(p.Hosts[0].Order, " "); got != "restart_ssh" {
		t.Errorf("handlers: %q", got)
	}
	if k := p.Hosts[0].Handlers["restart_ssh"].Kind.Name; k != "service_action" {
		t.Errorf("a handler naming a service is a %s", k)
	}
	p, _ = Build(cfg, Inputs{Args: []VarArg{{Assign: "connect=true"}}})
	if got := strings.Join(addrs(p.Hosts[0]), " "); got != "command.connect" {
		t.Errorf("host a with connect=true: %q", got)
	}
}

func TestBootstrapBlock(t *testing.T) {
	cfg := loadSource(t, `
host "pi" {
  address       = "192.0.2.10"
  port          = 50022
  user          = "alice"
  identity_file = "/keys/alice"
  become        = true
  bootstrap {
    user = "pi"
  }
}
host "plain" {
  address = "192.0.2.11"
  user    = "bob"
}
`)
	p, diags := Build(cfg, Inputs{})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	b := p.Hosts[0].Bootstrap
	if b == nil || b.Port != 22 || b.User != "pi" || b.IdentityFiles[0] != "/keys/alice" || !b.Become || b.Address != "192.0.2.10" {
		t.Errorf("bootstrap %+v", b)
	}
	if p.Hosts[0].Conn.Port != 50022 || p.Hosts[0].Conn.User != "alice" {
		t.Errorf("main %+v", p.Hosts[0].Conn)
	}
	if p.Hosts[1].Bootstrap != nil {
		t.Error("no bootstrap block, no bootstrap")
	}
}

// A wrong value in a var file is named by file:line, never shown as a
// snippet: the line holds the value, perhaps a secret.
func TestVarFileErrorsShowNoValue(t *testing.T) {
	varFile := filepath.Join(t.TempDir(), "secrets.hcl")
	writeFile(t, varFile, "ports = \"hunter2\"\ntokn = \"s3cr3t-typo\"\n")
	in := baseInputs
	in.Args = append(append([]VarArg{}, in.Args...), VarArg{File: varFile})
	cfg, diags := Load("testdata/good")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags = Build(cfg, in)
	var b strings.Builder
	_ = WriteDiagnostics(&b, cfg.Files(), diags, 0, false)
	out := b.String()
	for _, want := range []string{varFile + ":1,1", varFile + ":2,1", "Undeclared variable", `"tokn"`} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"hunter2", "s3cr3t-typo"} {
		if strings.Contains(out, secret) {
			t.Errorf("diagnostics show %q:\n%s", secret, out)
		}
	}
}

// Untyped variables get text from -var and HAKO_VAR_; a port and a when
// take "2222" and "true" as Terraform converts them.
func TestPortAndWhenFromText(t *testing.T) {
	cfg := loadSource(t, `
variable "port" {}
variable "on" {}
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
  port    = var.port
}
task "command" "c" {
  command = "true"
  when    = var.on
}
`)
	for _, on := range []string{"true", "false"} {
		p, diags := Build(cfg, Inputs{Args: []VarArg{{Assign: "port=2222"}, {Assign: "on=" + on}}})
		if diags.HasErrors() {
			t.Fatalf("on=%s: %s", on, render(diags))
		}
		if h := p.Hosts[0]; h.Conn.Port != 2222 || (len(h.Steps) == 1) != (on == "true") {
			t.Errorf("on=%s: port %d, %d steps", on, h.Conn.Port, len(h.Steps))
		}
	}
	_, diags := Build(cfg, Inputs{Args: []VarArg{{Assign: "port=ssh"}, {Assign: "on=yes please"}}})
	if r := render(diags); !strings.Contains(r, "port must be a number") || !strings.Contains(r, "when must be true or false") {
		t.Errorf("bad text: %s", r)
	}
}

func TestLoadSaysWhatIsWrongWithTheDirectory(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.hcl")
	writeFile(t, file, "")
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "no such file or directory",
		file:                          "is a file; hako reads every *.hcl file of a directory",
		t.TempDir():                   "There are no *.hcl files in",
	} {
		if _, diags := Load(path); !strings.Contains(render(diags), want) {
			t.Errorf("Load(%s): %s, want %q", path, render(diags), want)
		}
	}
}

// hosts = null means every host, as an unset attribute does (Terraform's
// null); hosts = [] means none.
func TestHostsNull(t *testing.T) {
	cfg := loadSource(t, `
host "a" {
  address = "127.0.0.1"
  user    = "u"
}
host "b" {
  address = "127.0.0.2"
  user    = "u"
}
task "command" "everywhere" {
  command = "true"
  hosts   = null
}
task "command" "nowhere" {
  command = "true"
  hosts   = []
}
`)
	p, diags := Build(cfg, Inputs{})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	for _, h := range p.Hosts {
		if len(h.Steps) != 1 || h.Steps[0].Task.Address().Name != "everywhere" {
			t.Errorf("host %s: %d steps", h.Name, len(h.Steps))
		}
	}
}

// A task that runs on no host is checked with unknown values: it does not
// read a file it will never use (the Pi example's admin key when the admin
// is the bootstrap user).
func TestDisabledTaskReadsNoFile(t *testing.T) {
	cfg := loadSource(t, `
variable "key" {
  default = "missing.pub"
}
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
task "user" "admin" {
  name            = "alice"
  authorized_keys = [file(var.key)]
  when            = false
}
`)
	if _, diags := Build(cfg, Inputs{}); diags.HasErrors() {
		t.Errorf("a disabled task read its file: %s", render(diags))
	}
}

// loadSource loads src as the only file of a plan directory.
func loadSource(t *testing.T, src string) *Config {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "p.hcl"), src)
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}
