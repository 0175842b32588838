package run

import (
	"slices"
	"strings"
	"testing"

	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// capabilityPlan has one task of each kind the policy has to judge.
const capabilityPlan = `
task "file" "sshd" {
  path    = "/etc/ssh/sshd_config.d/10-hako.conf"
  content = "Port 2222\n"
}
task "file" "motd" {
  path    = "/etc/motd"
  content = "hi\n"
}
task "file" "socket" {
  path    = "/etc/systemd/system/ssh.socket.d/port.conf"
  content = "[Socket]\n"
}
task "file" "net" {
  path    = "/etc/network/interfaces"
  content = "auto lo\n"
}
task "directory" "nm" {
  path = "/etc/NetworkManager/conf.d"
}
task "user" "alice" {
  name = "alice"
  sudo = "nopasswd"
}
task "user" "bob" {
  name   = "bob"
  groups = ["adm"]
}
task "user" "admin_keys" {
  name           = "nobody"
  exclusive_keys = true
}
task "ufw" "fw" {
  rule { port = 22 }
}
task "command" "cmd" {
  command = "true"
}
task "service" "ssh" {
  name  = "ssh"
  state = "started"
}
`

func capabilitySteps(t *testing.T) (*plan.Host, map[string]*plan.Step) {
	p, _ := localPlan(t, capabilityPlan)
	h := p.Hosts[0]
	by := map[string]*plan.Step{}
	for _, s := range h.Steps {
		by[s.Task.Address().Name] = s
	}
	return h, by
}

// -confirm arms the guard when a changed task can cut hako off and the
// guard can restore what it writes: sshd's and the network's files, a
// user's sudo rule (the bug this policy fixes: it was never armed for),
// the firewall. Nothing else arms it, nor an unchanged task.
func TestArmsGuard(t *testing.T) {
	h, by := capabilitySteps(t)
	env := tasks.Env{LoginUsers: []string{"nobody"}}
	for name, want := range map[string]bool{
		"sshd": true, "motd": false, "socket": true, "net": true, "nm": true, "alice": true, "bob": false,
		// nobody's keys can cut SSH, but they live in its home, which the
		// rollback does not restore.
		"admin_keys": false,
		"fw":         true, "cmd": false, "ssh": false,
	} {
		changes := map[*plan.Step]*tasks.Change{by[name]: {Action: tasks.Update}}
		if got := armsGuard(h.Steps, changes, env); got != want {
			t.Errorf("%s changed: arms %v, want %v", name, got, want)
		}
		changes[by[name]] = &tasks.Change{}
		if armsGuard(h.Steps, changes, env) {
			t.Errorf("%s unchanged: arms the guard", name)
		}
	}
}

// The guard saves the paths of every task that can cut hako off (changed
// or not), the firewall, and restarts what reads them.
func TestGuardRequest(t *testing.T) {
	h, _ := capabilitySteps(t)
	r := guardRequest(h.Steps, tasks.Env{LoginUsers: []string{"nobody"}})
	want := []string{"/etc/ssh/sshd_config.d/10-hako.conf", "/etc/systemd/system/ssh.socket.d/port.conf",
		"/etc/network/interfaces", "/etc/NetworkManager/conf.d", "/etc/sudoers.d/hako-alice"}
	if !slices.Equal(r.Paths, want) {
		t.Errorf("paths %q, want %q", r.Paths, want)
	}
	if !r.UFW {
		t.Error("the firewall is not saved")
	}
	if got := strings.Join(r.Restart, " "); got != "ssh ssh.socket" {
		t.Errorf("restart %q", got)
	}
	if got := strings.Join(r.Reapply, " "); got != "networking NetworkManager" {
		t.Errorf("reapply %q", got)
	}
}
