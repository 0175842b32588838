package plan

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func loadSrc(t *testing.T, src string) *Config {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.hcl"), src)
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	return cfg
}

// MissingVariables finds the required variables without a value by the
// diagnostics' type, not their text, and tells any other error apart.
func TestMissingVariables(t *testing.T) {
	cfg := loadSrc(t, `
variable "user" { type = string }
variable "key" { type = string }
variable "port" {
  type    = number
  default = 22
}
host "h" {
  address = "192.0.2.1"
  user    = var.user
  port    = var.port
}
`)
	_, diags := Build(cfg, Inputs{})
	names, others := MissingVariables(diags)
	if !slices.Equal(names, []string{"user", "key"}) || others {
		t.Errorf("names %q, other errors %v: %s", names, others, render(diags))
	}

	_, diags = Build(cfg, Inputs{Args: []VarArg{{Assign: "port=x"}}})
	if names, others = MissingVariables(diags); !slices.Equal(names, []string{"user", "key"}) || !others {
		t.Errorf("with a bad -var: names %q, other errors %v", names, others)
	}

	// The same words from elsewhere are not a missing variable.
	names, others = MissingVariables(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No value for required variable"}})
	if len(names) != 0 || !others {
		t.Errorf("text alone: names %q, other errors %v", names, others)
	}
}

// FirstContact follows the rule Build uses for the bootstrap connection:
// the bootstrap block's setting wins, the host's fills in, the port does not.
func TestHostBlockFirstContact(t *testing.T) {
	cfg := loadSrc(t, `
host "pi" {
  address       = "192.0.2.10"
  port          = 2222
  user          = "admin"
  identity_file = "~/.ssh/id_admin"
  bootstrap {
    user = "pi"
  }
}
host "web" {
  address = "192.0.2.11"
  port    = 2222
}
`)
	hb, diags := cfg.HostBlock("pi")
	if diags.HasErrors() || hb == nil || hb.Bootstrap == nil {
		t.Fatalf("%v %s", hb, render(diags))
	}
	for _, tc := range []struct {
		name        string
		line        int // 0: no attribute
		inBootstrap bool
	}{
		{"user", 8, true}, {"identity_file", 6, false}, {"port", 0, false}, {"known_hosts", 0, false},
	} {
		a, in := hb.FirstContact(tc.name)
		line := 0
		if a != nil {
			line = a.Range.Start.Line
		}
		if line != tc.line || in != tc.inBootstrap {
			t.Errorf("pi %s: line %d in bootstrap %v, want %d %v", tc.name, line, in, tc.line, tc.inBootstrap)
		}
	}

	// Without a bootstrap block, first contact is the host's own connection.
	hb, _ = cfg.HostBlock("web")
	if a, in := hb.FirstContact("port"); a == nil || a.Range.Start.Line != 13 || in {
		t.Errorf("web port: %v %v", a, in)
	}
	if hb, _ := cfg.HostBlock("nas"); hb != nil {
		t.Errorf("no host nas, got %v", hb)
	}
}
