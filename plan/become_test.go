package plan

import (
	"strings"
	"testing"
)

// become_user and a sensitive become_password reach the connection, the
// bootstrap one too (same machine, same sudo).
func TestBecomeSettings(t *testing.T) {
	cfg := loadSource(t, `
variable "sudo_pw" {
  type      = string
  sensitive = true
}
host "pi" {
  address         = "192.0.2.10"
  user            = "alice"
  become          = true
  become_user     = "app"
  become_password = var.sudo_pw
  bootstrap {
    user = "pi"
  }
}
`)
	p, diags := Build(cfg, Inputs{Args: []VarArg{{Assign: "sudo_pw=pw-5e1d"}}})
	if len(diags) > 0 {
		t.Fatal(render(diags))
	}
	c, b := p.Hosts[0].Conn, p.Hosts[0].Bootstrap
	if c.BecomeUser != "app" || c.BecomePassword != "pw-5e1d" || b.BecomeUser != "app" || b.BecomePassword != "pw-5e1d" {
		t.Errorf("conn %q %q, bootstrap %q %q", c.BecomeUser, c.BecomePassword, b.BecomeUser, b.BecomePassword)
	}
}

// A null become_password (a variable left unset) means none: sudo -n, or
// the password asked with -ask-become-password.
func TestBecomePasswordNull(t *testing.T) {
	cfg := loadSource(t, `
variable "sudo_pw" {
  type      = string
  default   = null
  sensitive = true
}
host "pi" {
  address         = "192.0.2.10"
  user            = "alice"
  become          = true
  become_password = var.sudo_pw
}
`)
	p, diags := Build(cfg, Inputs{})
	if diags.HasErrors() || p.Hosts[0].Conn.BecomePassword != "" {
		t.Fatalf("%q %s", p.Hosts[0].Conn.BecomePassword, render(diags))
	}
}

// Mistakes are named by file:line, and the password is never shown: not
// in a message, not in a snippet of its line.
func TestBecomeMistakes(t *testing.T) {
	const pw = "lit-9a3f-SECRET"
	cases := []struct{ name, attrs, want string }{
		{"literal password", `become = true
  become_password = "` + pw + `"`, "become_password is not sensitive"},
		{"without become", `become_password = "` + pw + `"`, "Become setting without become"},
		{"become false", `become = false
  become_user = "app"`, "become_user has a meaning only with become = true"},
		{"bad user", `become = true
  become_user = "-x"`, "Invalid become_user"},
		{"sensitive elsewhere", `become = true
  become_user = var.secret`, "Here only become_password may"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := loadSource(t, `
variable "secret" {
  type      = string
  sensitive = true
  default   = "app"
}
host "pi" {
  address = "192.0.2.10"
  user    = "alice"
  `+c.attrs+`
}
`)
			_, diags := Build(cfg, Inputs{})
			var b strings.Builder
			_ = WriteDiagnostics(&b, cfg.Files(), diags, 0, false)
			out := b.String()
			if !strings.Contains(out, c.want) || !strings.Contains(out, "p.hcl line 1") {
				t.Errorf("want %q with file:line in:\n%s", c.want, out)
			}
			if strings.Contains(out, pw) {
				t.Errorf("the password is shown:\n%s", out)
			}
			if c.name == "literal password" && diags.HasErrors() {
				t.Errorf("a literal password is a warning, not an error:\n%s", out)
			}
			if c.name != "literal password" && !diags.HasErrors() {
				t.Errorf("want an error:\n%s", out)
			}
		})
	}
}
