package plan

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

const factsPlan = `
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
task "file" "first" {
  path    = "/etc/first"
  content = "${host.name}\n"
}
task "file" "motd" {
  path    = "/etc/motd"
  content = "${host.facts.os.pretty_name} on ${host.facts.arch}\n"
  notify  = ["nm"]
}
task "command" "systemd_only" {
  command = "true"
  when    = host.facts.init == "systemd"
}
task "file" "last" {
  path    = "/etc/last"
  content = "x\n"
}
handler "nm" {
  command = "nmcli connection reload"
  when    = host.facts.network == "networkmanager"
}
handler "plain" {
  command = "true"
}
`

// sampleFacts are a bookworm Pi's facts with NetworkManager and systemd.
func sampleFacts() probe.HostFacts {
	return probe.HostFacts{OS: probe.OSRelease{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		Arch: "aarch64", Init: "systemd", Network: probe.NetworkNM, NetworkStacks: probe.NetworkStacks{NetworkManager: true},
		SSHD: probe.SSHDService, UFW: true}
}

// Tasks and handlers that read host.facts wait for them; with them, their
// when decides and their attributes take the host's values, in the plan's
// order among the others.
func TestFactsDecideTasks(t *testing.T) {
	p, diags := Build(loadSource(t, factsPlan), Inputs{})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	h := p.Hosts[0]
	if !h.NeedsFacts() || h.FactTasks() != 2 {
		t.Errorf("needs facts %v, %d tasks wait for them", h.NeedsFacts(), h.FactTasks())
	}
	if got := strings.Join(addrs(h), " "); got != "file.first file.last" {
		t.Errorf("before the facts: %s", got)
	}

	rh, diags := h.WithFacts(sampleFacts())
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	if got := strings.Join(addrs(rh), " "); got != "file.first file.motd command.systemd_only file.last" {
		t.Errorf("systemd: %s", got)
	}
	if got := strings.Join(rh.Order, " "); got != "nm plain" {
		t.Errorf("systemd handlers: %s", got)
	}
	motd := rh.Steps[1].Task.(*tasks.File)
	if c := freshCheck(t, motd); c.Content == nil || !strings.Contains(c.Content.Diff(), "+Debian GNU/Linux 12 (bookworm) on aarch64") {
		t.Errorf("motd: %+v", c.Content)
	}
	if rh.NeedsFacts() || !h.NeedsFacts() || len(h.Steps) != 2 {
		t.Error("WithFacts changed the plan's host, or its result still waits")
	}

	lite := sampleFacts()
	lite.Init, lite.Network, lite.NetworkStacks = "sh", probe.NetworkDhcpcd, probe.NetworkStacks{Dhcpcd: true}
	rh, diags = h.WithFacts(lite)
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	if got := strings.Join(addrs(rh), " "); got != "file.first file.motd file.last" {
		t.Errorf("lite: %s", got)
	}
	if got := strings.Join(rh.Order, " "); got != "plain" || rh.Handlers["nm"] != nil {
		t.Errorf("lite handlers: %s", got)
	}
}

// A plan that reads no fact needs none: WithFacts gives the host back.
func TestNoFactsNoWait(t *testing.T) {
	p, diags := Build(loadSource(t, `
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
task "file" "a" {
  path    = "/etc/a"
  content = "${host.name} ${host.port}\n"
  when    = host.user == "pi"
}
`), Inputs{})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	h := p.Hosts[0]
	if h.NeedsFacts() || h.FactTasks() != 0 {
		t.Error("a plan without facts waits for them")
	}
	if rh, diags := h.WithFacts(sampleFacts()); rh != h || len(diags) != 0 {
		t.Errorf("WithFacts: %v %v", rh, diags)
	}
}

// Which expressions read the facts: host.facts, host["facts"], and host
// as a whole; not host.name.
func TestReadsFacts(t *testing.T) {
	for src, want := range map[string]bool{
		`host.facts.os.id == "debian"`: true, `host["facts"].arch`: true, `jsonencode(host)`: true,
		`[for k, v in host : k]`: true, `host.name`: false, `host["name"]`: false, `"${host.port}"`: false,
		`var.x`: false, `local.facts`: false,
	} {
		cfg := loadSource(t, "locals {\n  e = "+src+"\n}\n")
		if got := readsFacts(bodyExprs(cfg.Locals[0], &hcl.BodyContent{}, nil)); got != want {
			t.Errorf("%s: %v", src, got)
		}
	}
}

// validate (no host, variables missing): the facts are unknown, so every
// task that reads them is checked as if it ran; the plan is valid.
func TestValidateWithUnknownFacts(t *testing.T) {
	cfg := loadSource(t, `
variable "want" {
  type = string
}
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
task "file" "motd" {
  path    = "/etc/motd"
  content = upper(host.facts.os.codename)
  when    = host.facts.os.id == var.want
}
task "file" "broken" {
  path    = "/etc/x"
  content = host.facts.os
}
`)
	_, diags := Build(cfg, Inputs{AllowMissing: true})
	if len(diags.Errs()) != 1 || !strings.Contains(diags.Error(), "p.hcl:16,13") {
		t.Fatalf("want one error, at p.hcl:16 (content is an object):\n%s", render(diags))
	}
}

// An error that only the host's facts show (when is not a bool with them)
// names file, line and column when the run decodes the task.
func TestFactsErrorWithTheFacts(t *testing.T) {
	p, diags := Build(loadSource(t, `
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
task "command" "a" {
  command = "true"
  when    = host.facts.os.version_id
}
`), Inputs{})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	_, diags = p.Hosts[0].WithFacts(sampleFacts())
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "p.hcl:8,13") || !strings.Contains(diags.Error(), "when must be true or false") {
		t.Errorf("diags: %v", diags)
	}
}

// Two firewalls whose when read the facts are fine while only one can
// run on a host; with facts under which both run, the run says so.
func TestOnePerHostWithFacts(t *testing.T) {
	p, diags := Build(loadSource(t, `
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
task "ufw" "nm" {
  when = host.facts.network == "networkmanager"
  rule {
    port = 22
  }
}
task "ufw" "other" {
  when = host.facts.ufw
  rule {
    port = 2222
  }
}
`), Inputs{})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	f := sampleFacts()
	f.UFW = false
	rh, diags := p.Hosts[0].WithFacts(f)
	if diags.HasErrors() || strings.Join(addrs(rh), " ") != "ufw.nm" {
		t.Errorf("one firewall: %v %v", addrs(rh), diags)
	}
	_, diags = p.Hosts[0].WithFacts(sampleFacts())
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Two ufw tasks on one host") || !strings.Contains(diags.Error(), "p.hcl:12,") {
		t.Errorf("both: %v", diags)
	}
}

// host.facts has the type of probe.HostFacts, names from its cty tags.
func TestFactsValue(t *testing.T) {
	v := factsValue(sampleFacts())
	if v.GetAttr("os").GetAttr("codename") != cty.StringVal("bookworm") || v.GetAttr("network_stacks").GetAttr("networkmanager") != cty.True ||
		v.GetAttr("ufw") != cty.True || v.GetAttr("sshd") != cty.StringVal("service") {
		t.Errorf("facts %#v", v)
	}
}

// Before the facts, the steps a host may run are guessed: every task,
// those that read the facts decoded as if their when held, with empty
// facts; one that does not decode with those is left out. The guess of a
// task that reads the facts only in its when is the task WithFacts gives.
func TestSpeculative(t *testing.T) {
	p, diags := Build(loadSource(t, factsPlan+`
task "file" "needs_an_arch" {
  path    = "/etc/x"
  content = "x\n"
  mode    = host.facts.arch == "" ? "banana" : "0644"
}
`), Inputs{})
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	h := p.Hosts[0]
	spec := h.Speculative()
	var got []string
	for _, s := range spec {
		got = append(got, s.Task.Address().String())
	}
	if strings.Join(got, " ") != "file.first file.motd command.systemd_only file.last" {
		t.Errorf("speculative steps: %s", got)
	}
	if c := freshCheck(t, spec[1].Task.(*tasks.File)); c.Content == nil || !strings.Contains(c.Content.Diff(), "+ on \n") {
		t.Errorf("motd with empty facts: %+v", c.Content)
	}
	rh, diags := h.WithFacts(sampleFacts())
	if diags.HasErrors() {
		t.Fatal(render(diags))
	}
	if !reflect.DeepEqual(rh.Steps[2].Task, spec[2].Task) {
		t.Errorf("systemd_only: guessed %+v, with the facts %+v", spec[2].Task, rh.Steps[2].Task)
	}
	if np := p.Hosts[0]; !np.NeedsFacts() {
		t.Error("Speculative changed the host")
	}
}
