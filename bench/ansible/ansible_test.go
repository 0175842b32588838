package ansible

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Write lays out the playbook with its templates, an inventory with the
// host's login and the vars, and a configuration with pipelining on and
// strict host key checking against the host's known_hosts file.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	cmd, err := Write(dir, []Host{{Name: "pi", Addr: "10.0.0.2", Port: 2222, User: "pi", KeyFile: "/k", KnownHosts: "/kh"}},
		map[string]any{"ssh_port": 2222})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"playbook.yml", "templates/dhcpcd.conf.j2", "templates/ppp-secrets.j2"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "ansible.cfg"))
	for _, want := range []string{"pipelining = True", "host_key_checking = True", "inventory = " + dir + "/inventory.yml"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("ansible.cfg lacks %q:\n%s", want, cfg)
		}
	}
	var inv struct {
		All struct {
			Hosts map[string]map[string]any
			Vars  map[string]any
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "inventory.yml"))
	if err := json.Unmarshal(b, &inv); err != nil {
		t.Fatal(err)
	}
	pi := inv.All.Hosts["pi"]
	if pi["ansible_host"] != "10.0.0.2" || pi["ansible_port"] != 2222.0 || pi["ansible_user"] != "pi" ||
		!strings.Contains(pi["ansible_ssh_common_args"].(string), `StrictHostKeyChecking=yes`) ||
		!strings.Contains(pi["ansible_ssh_common_args"].(string), `UserKnownHostsFile="/kh"`) || inv.All.Vars["ssh_port"] != 2222.0 {
		t.Errorf("inventory:\n%s", b)
	}
	if !strings.HasSuffix(cmd.Args[1], "playbook.yml") || !strings.Contains(strings.Join(cmd.Env, "\n"), "ANSIBLE_CONFIG="+dir) {
		t.Errorf("command %v", cmd.Args)
	}
}

// Changed reads the recap's changed count for one host, and fails on an
// unreachable host, a failed task or no recap.
func TestChanged(t *testing.T) {
	out := "PLAY RECAP *****\nother                      : ok=1    changed=1    unreachable=0    failed=0\n" +
		"pi                         : ok=15   changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0\n"
	if n, err := Changed(out, "pi"); n != 0 || err != nil {
		t.Errorf("Changed: %d %v", n, err)
	}
	if n, err := Changed(out, "other"); n != 1 || err != nil {
		t.Errorf("Changed other: %d %v", n, err)
	}
	if _, err := Changed(strings.Replace(out, "failed=0    skipped", "failed=1    skipped", 1), "pi"); err == nil {
		t.Error("a failed task passed")
	}
	if _, err := Changed(out, "nobody"); err == nil {
		t.Error("no recap passed")
	}
}
