package sdcard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/plan"
	"github.com/hashicorp/hcl/v2"
)

func loadPlan(t *testing.T, src string) *plan.Config {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "main.hcl", src)
	cfg, diags := plan.Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

func fromPlan(t *testing.T, src, host string, args ...string) (FirstUser, hcl.Diagnostics, string) {
	t.Helper()
	cfg := loadPlan(t, src)
	var in plan.Inputs
	for _, a := range args {
		in.Args = append(in.Args, plan.VarArg{Assign: a})
	}
	u, diags := FromPlan(cfg, in, host)
	return u, diags, cfg.Dir
}

func errorText(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.Summary + ": " + d.Detail + "\n")
	}
	return b.String()
}

func TestFromPlanHostUser(t *testing.T) {
	u, diags, dir := fromPlan(t, `
host "pi" {
  address       = "192.0.2.10"
  user          = "admin"
  identity_file = "keys/id_ed25519"
}
`, "")
	if diags.HasErrors() {
		t.Fatal(errorText(diags))
	}
	want := FirstUser{Name: "admin", IdentityFile: filepath.Join(dir, "keys/id_ed25519"), Source: `host "pi"`}
	if u != want {
		t.Errorf("%+v, want %+v", u, want)
	}
}

// The bootstrap block's user and identity_file win; what it leaves out
// comes from the host.
func TestFromPlanBootstrap(t *testing.T) {
	src := `
host "pi" {
  address       = "192.0.2.10"
  port          = 2222
  user          = "admin"
  identity_file = "~/.ssh/id_admin"
  bootstrap {
    user = "pi"
  }
}
`
	u, diags, _ := fromPlan(t, src, "")
	if diags.HasErrors() {
		t.Fatal(errorText(diags))
	}
	if want := (FirstUser{Name: "pi", IdentityFile: "~/.ssh/id_admin", Source: `host "pi", bootstrap block`}); u != want {
		t.Errorf("%+v, want %+v", u, want)
	}

	u, diags, _ = fromPlan(t, strings.Replace(src, `user = "pi"`, `identity_file = "~/.ssh/id_first"`, 1), "")
	if diags.HasErrors() {
		t.Fatal(errorText(diags))
	}
	if u.Name != "admin" || u.IdentityFile != "~/.ssh/id_first" {
		t.Errorf("%+v", u)
	}
}

const twoHosts = `
host "web" {
  address       = "192.0.2.10"
  user          = "web"
  identity_file = "~/.ssh/id_web"
}
host "pi" {
  address       = "192.0.2.11"
  user          = "pi"
  identity_file = "~/.ssh/id_pi"
}
`

func TestFromPlanHostChoice(t *testing.T) {
	u, diags, _ := fromPlan(t, twoHosts, "pi")
	if diags.HasErrors() || u.Name != "pi" || u.IdentityFile != "~/.ssh/id_pi" {
		t.Errorf("-host pi: %+v %s", u, errorText(diags))
	}
	_, diags, _ = fromPlan(t, twoHosts, "")
	if got := errorText(diags); !strings.Contains(got, "2 hosts (web, pi): choose one with -host NAME") {
		t.Errorf("no -host: %s", got)
	}
	_, diags, _ = fromPlan(t, twoHosts, "nas")
	if got := errorText(diags); !strings.Contains(got, `no host "nas"; its hosts: web, pi`) {
		t.Errorf("-host nas: %s", got)
	}
}

// Variables the card does not need may stay unset; one it needs, even
// through a local or the bootstrap block, is named.
func TestFromPlanMissingVariables(t *testing.T) {
	src := `
variable "address" { type = string }
variable "password" {
  type      = string
  sensitive = true
}
variable "admin_user" { type = string }
variable "bootstrap_user" {
  type    = string
  default = null
}
variable "key" { type = string }
locals {
  first_user = var.bootstrap_user != null ? var.bootstrap_user : var.admin_user
}
host "pi" {
  address       = var.address
  user          = var.admin_user
  identity_file = var.key
  bootstrap {
    user = local.first_user
  }
}
task "file" "secret" {
  path    = "/etc/secret"
  content = var.password
}
`
	u, diags, _ := fromPlan(t, src, "", "admin_user=alice", "key=~/.ssh/k")
	if diags.HasErrors() {
		t.Fatalf("address and password are not needed: %s", errorText(diags))
	}
	if u.Name != "alice" || u.IdentityFile != "~/.ssh/k" {
		t.Errorf("%+v", u)
	}

	_, diags, _ = fromPlan(t, src, "", "key=~/.ssh/k")
	got := errorText(diags)
	if !strings.Contains(got, `the first user's name, the host "pi" bootstrap user, which uses var.admin_user, and it has no value`) ||
		!strings.Contains(got, "-var admin_user=...") || !strings.Contains(got, "HAKO_VAR_admin_user") {
		t.Errorf("missing admin_user: %s", got)
	}
	if strings.Contains(got, "address") || strings.Contains(got, "password") || strings.Contains(got, "var.key") {
		t.Errorf("names variables it does not need: %s", got)
	}

	_, diags, _ = fromPlan(t, src, "")
	got = errorText(diags)
	if !strings.Contains(got, "var.admin_user") || !strings.Contains(got, `the key to install, the host "pi" identity_file, which uses var.key`) {
		t.Errorf("missing admin_user and key: %s", got)
	}
}

func TestFromPlanNoIdentityFile(t *testing.T) {
	_, diags, _ := fromPlan(t, `
host "pi" {
  address = "192.0.2.10"
  user    = "pi"
}
`, "")
	if got := errorText(diags); !strings.Contains(got, `Host "pi" sets no identity_file`) {
		t.Errorf("%s", got)
	}
}

// Errors that are not missing variables are the plan's, reported as they are.
func TestFromPlanOtherErrors(t *testing.T) {
	_, diags, _ := fromPlan(t, `
variable "admin_user" { type = string }
host "pi" {
  address       = "192.0.2.10"
  user          = var.admin_user
  identity_file = "k"
}
task "file" "x" {
  path    = "relative/path"
  content = "x"
}
`, "")
	if got := errorText(diags); !strings.Contains(got, "must be an absolute path") || strings.Contains(got, "admin_user") {
		t.Errorf("a task's error: %s", got)
	}

	// A -var for no variable is an error in the variables themselves: all
	// of them are reported, the missing one included, as plan does.
	_, diags, _ = fromPlan(t, `
variable "admin_user" { type = string }
host "pi" {
  address       = "192.0.2.10"
  user          = var.admin_user
  identity_file = "k"
}
`, "", "admn_user=x")
	if got := errorText(diags); !strings.Contains(got, "Undeclared variable") || !strings.Contains(got, "No value for required variable") {
		t.Errorf("an undeclared -var: %s", got)
	}
}

// The repository's example plan needs nothing but a key for the card.
func TestFromPlanExample(t *testing.T) {
	cfg, diags := plan.Load(filepath.Join("..", "examples", "pi-home-server"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	u, diags := FromPlan(cfg, plan.Inputs{Environ: []string{}}, "")
	if diags.HasErrors() {
		t.Fatal(errorText(diags))
	}
	if u.Name == "" || u.IdentityFile == "" {
		t.Errorf("%+v", u)
	}
	if _, err := os.Stat(cfg.Dir); err != nil {
		t.Fatal(err)
	}
}
