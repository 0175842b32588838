package plan

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/zclconf/go-cty/cty"
)

// A host block with only an ssh_config alias: HostName, port, user, key,
// known_hosts and the jump host come from ssh_config; the bootstrap block
// still derives from them (port 22, its own user).
func TestHostFromSSHConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir) // never the real ~/.ssh
	conf := filepath.Join(dir, "ssh_config")
	writeFile(t, conf, `
Host mypi
  HostName 192.0.2.10
  Port 50022
  User alice
  IdentityFile `+dir+`/pi_key
  UserKnownHostsFile `+dir+`/kh
  ProxyJump gate
Host gate
  HostName 192.0.2.1
`)
	cfg := loadSource(t, `
host "pi" {
  address = "mypi"
  become  = true
  bootstrap {
    user = "pi"
  }
}
host "web" {
  address = "mypi"
  port    = 22
  user    = "bob"
}
`)
	for _, noSSH := range []bool{false, true} {
		p, diags := Build(cfg, Inputs{SSHConfig: &hosts.SSHConfig{File: conf, NoSSH: noSSH}})
		if diags.HasErrors() {
			t.Fatal(render(diags))
		}
		c := p.Hosts[0].Conn
		if c.Address != "192.0.2.10" || c.Port != 50022 || c.User != "alice" || c.KnownHostsFile != dir+"/kh" ||
			!slices.Equal(c.IdentityFiles, []string{dir + "/pi_key"}) || len(c.Jumps) != 1 || c.Jumps[0].Address != "192.0.2.1" {
			t.Errorf("noSSH=%v: conn %+v", noSSH, c)
		}
		b := p.Hosts[0].Bootstrap
		if b == nil || b.Port != 22 || b.User != "pi" || b.Address != "192.0.2.10" || len(b.Jumps) != 1 {
			t.Errorf("noSSH=%v: bootstrap %+v", noSSH, b)
		}
		// The plan's own settings win.
		if w := p.Hosts[1].Conn; w.Port != 22 || w.User != "bob" || w.Address != "192.0.2.10" {
			t.Errorf("noSSH=%v: web %+v", noSSH, w)
		}
		// Tasks see the settings in force.
		hv := hostValue(p.Hosts[0], cty.UnknownVal(factsType))
		if u, a, port := hv.GetAttr("user").AsString(), hv.GetAttr("address").AsString(), hv.GetAttr("port").AsBigFloat().String(); u != "alice" || a != "192.0.2.10" || port != "50022" {
			t.Errorf("noSSH=%v: tasks see host %s@%s:%s", noSSH, u, a, port)
		}
		var from []string
		for _, o := range p.Hosts[0].ConnFrom {
			from = append(from, o.Setting+" "+o.Value+" "+o.From)
		}
		for _, w := range []string{"port 50022 ssh_config", "user alice ssh_config", "hostname 192.0.2.10 ssh_config (Host mypi)"} {
			if !slices.Contains(from, w) {
				t.Errorf("noSSH=%v: origins %q lack %q", noSSH, from, w)
			}
		}
	}
}

func TestBadSSHConfigIsADiagnostic(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	conf := filepath.Join(dir, "ssh_config")
	writeFile(t, conf, "Host mypi\n  Port many\n")
	cfg := loadSource(t, `host "pi" {
  address = "mypi"
}
`)
	for _, noSSH := range []bool{false, true} {
		_, diags := Build(cfg, Inputs{SSHConfig: &hosts.SSHConfig{File: conf, NoSSH: noSSH}})
		out := render(diags)
		if !diags.HasErrors() || !strings.Contains(out, "p.hcl:2") || !strings.Contains(out, "many") ||
			!strings.Contains(out, `Looking up host "pi" (address "mypi") in ssh_config`) {
			t.Errorf("noSSH=%v: %s", noSSH, out)
		}
	}
}

// validate without a value for the address: nothing to look up, and tasks
// still see a port (ssh's default, or the block's).
func TestUnknownAddressKeepsAPort(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	cfg := loadSource(t, `variable "address" { type = string }
host "a" {
  address = var.address
}
host "b" {
  address = var.address
  port    = 2222
}
`)
	p, diags := Build(cfg, Inputs{AllowMissing: true, SSHConfig: &hosts.SSHConfig{NoSSH: true}})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	if a, b := p.Hosts[0].Conn.Port, p.Hosts[1].Conn.Port; a != 22 || b != 2222 {
		t.Errorf("ports %d, %d", a, b)
	}
}

// The address and the user reach the shell through an ssh_config
// ProxyCommand (%h, %n, %r): one from a -var holding shell syntax is
// refused at its attribute, before ssh_config is read, and nothing runs.
func TestAddressAndUserForTheShellRefused(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	conf := filepath.Join(dir, "ssh_config")
	writeFile(t, conf, "Host *\n  ProxyCommand nc %h %p %r\n")
	cfg := loadSource(t, `variable "address" { type = string }
variable "user" { type = string }
variable "boot_user" { type = string }
host "pi" {
  address = var.address
  user    = var.user
  bootstrap {
    user = var.boot_user
  }
}
`)
	for _, c := range []struct{ address, user, bootUser, want string }{
		{"x$(touch${IFS}/tmp/p)", "pi", "pi", `p.hcl:5`},
		{"pi.lan", "u$(id)", "pi", `p.hcl:6`},
		{"pi.lan", "pi", "u;id", `p.hcl:8`},
		{"pi.lan", "-oProxyCommand=id", "pi", `p.hcl:6`},
	} {
		_, diags := Build(cfg, Inputs{SSHConfig: &hosts.SSHConfig{File: conf, NoSSH: true},
			Args: []VarArg{{Assign: "address=" + c.address}, {Assign: "user=" + c.user}, {Assign: "boot_user=" + c.bootUser}}})
		out := render(diags)
		if !diags.HasErrors() || !strings.Contains(out, c.want) || !strings.Contains(out, "Invalid") {
			t.Errorf("%+v: %s", c, out)
		}
	}
}

// The bootstrap connection reads ssh_config as `ssh -l USER -p PORT
// ADDRESS` would: `Match user` sees the bootstrap user, and %r and %p are
// its user and port; the port it is given wins over ssh_config's.
func TestBootstrapFromSSHConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	conf := filepath.Join(dir, "ssh_config")
	writeFile(t, conf, `
Host mypi
  HostName 192.0.2.10
  Port 50022
  User alice
  ProxyCommand nc %h %p # %r
Match originalhost mypi user pi
  IdentityFile `+dir+`/first_boot_key
  Port 2222
`)
	cfg := loadSource(t, `
host "pi" {
  address = "mypi"
  bootstrap {
    user = "pi"
  }
}
`)
	for _, noSSH := range []bool{false, true} {
		p, diags := Build(cfg, Inputs{SSHConfig: &hosts.SSHConfig{File: conf, NoSSH: noSSH}})
		if diags.HasErrors() {
			t.Fatal(render(diags))
		}
		c, b := p.Hosts[0].Conn, p.Hosts[0].Bootstrap
		if c.User != "alice" || c.Port != 50022 || c.ProxyCommand != "nc 192.0.2.10 50022 # alice" ||
			slices.Contains(c.IdentityFiles, dir+"/first_boot_key") {
			t.Errorf("noSSH=%v: conn %+v", noSSH, c)
		}
		if b == nil || b.User != "pi" || b.Port != 22 || b.Address != "192.0.2.10" ||
			b.ProxyCommand != "nc 192.0.2.10 22 # pi" || !slices.Equal(b.IdentityFiles, []string{dir + "/first_boot_key"}) {
			t.Errorf("noSSH=%v: bootstrap %+v", noSSH, b)
		}
		var from []string
		for _, o := range p.Hosts[0].BootstrapFrom {
			from = append(from, o.Setting+" "+o.Value+" "+o.From)
		}
		if !slices.Contains(from, "identityfile "+dir+"/first_boot_key ssh_config") || !slices.Contains(from, "user pi plan") {
			t.Errorf("noSSH=%v: bootstrap origins %q", noSSH, from)
		}
	}
}
