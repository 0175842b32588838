// Package ansible runs Ansible as bench/'s peer: playbook.yml beside this
// file is examples/pi-home-server written for Ansible, and Write makes the
// inventory and configuration a run of it needs. Ansible is never a
// dependency of hako; scripts/bench.sh installs Debian's ansible package
// to time it.
package ansible

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

//go:embed playbook.yml templates
var playbook embed.FS

// Host is a host Ansible connects to, with the same login hako uses.
type Host struct {
	Name       string // inventory name
	Addr       string
	Port       int
	User       string
	KeyFile    string // private key
	KnownHosts string // known_hosts file that holds the host's key: checked strictly
}

// Write writes into dir (which must exist) the playbook and its
// templates, an inventory of hosts with vars (the playbook's inputs, as
// a JSON object), and an ansible.cfg, and returns the command that runs
// the playbook. Ansible's own defaults stand but for: ssh pipelining on,
// strict host key checking against each host's KnownHosts, the interpreter
// named (/usr/bin/python3: no discovery), and its local files (temporary
// files, control sockets) kept in dir.
func Write(dir string, hosts []Host, vars map[string]any) (*exec.Cmd, error) {
	err := fs.WalkDir(playbook, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if err == nil {
				err = os.MkdirAll(filepath.Join(dir, p), 0o755)
			}
			return err
		}
		b, err := playbook.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		return nil, err
	}
	inv := map[string]any{}
	for _, h := range hosts {
		inv[h.Name] = map[string]any{
			"ansible_host":                 h.Addr,
			"ansible_port":                 h.Port,
			"ansible_user":                 h.User,
			"ansible_ssh_private_key_file": h.KeyFile,
			"ansible_ssh_common_args": "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o UserKnownHostsFile=" +
				strconv.Quote(h.KnownHosts),
		}
	}
	// JSON is YAML: Ansible reads this as a YAML inventory.
	b, err := json.MarshalIndent(map[string]any{"all": map[string]any{"hosts": inv, "vars": vars}}, "", "  ")
	if err != nil {
		return nil, err
	}
	// The inventory holds the playbook's secrets (the PPPoE password).
	if err := os.WriteFile(filepath.Join(dir, "inventory.yml"), b, 0o600); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`[defaults]
inventory = %[1]s/inventory.yml
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False
local_tmp = %[1]s/tmp
nocolor = True

[ssh_connection]
pipelining = True
control_path_dir = %[1]s/cp
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "ansible.cfg"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("ansible-playbook", filepath.Join(dir, "playbook.yml"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(dir, "ansible.cfg"), "ANSIBLE_HOME="+filepath.Join(dir, "home"))
	return cmd, nil
}

var recap = regexp.MustCompile(`(?m)^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// Changed reads how many tasks changed on host from the recap of
// ansible-playbook's output, and fails when the host was unreachable or a
// task failed.
func Changed(out, host string) (int, error) {
	for _, m := range recap.FindAllStringSubmatch(out, -1) {
		if m[1] != host {
			continue
		}
		if m[4] != "0" || m[5] != "0" {
			return 0, fmt.Errorf("%s: unreachable=%s failed=%s", host, m[4], m[5])
		}
		return strconv.Atoi(m[3])
	}
	return 0, errors.New("no recap for " + host)
}

// Close ends the SSH connections Ansible keeps open after a run
// (ControlPersist) for the playbook in dir.
func Close(dir string) {
	socks, _ := filepath.Glob(filepath.Join(dir, "cp", "*"))
	for _, s := range socks {
		_ = exec.Command("ssh", "-O", "exit", "-o", "ControlPath="+s, "host").Run()
	}
}

// Available says why ansible-playbook cannot run here, or nil. (The
// playbook needs community.general.ufw too: Debian's ansible package has
// it, ansible-core alone not; without it the run fails naming the module.)
func Available() error {
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		return errors.New("ansible-playbook not found (scripts/bench.sh installs Debian's ansible package)")
	}
	return nil
}
