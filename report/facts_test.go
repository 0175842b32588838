package report

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/run"
)

func sampleFacts() []*run.HostFacts {
	pi := &plan.Host{Name: "pi", Conn: hosts.Config{Address: "10.213.0.10", Port: 22, User: "pi"}}
	web := &plan.Host{Name: "web", Conn: hosts.Config{Address: "10.213.0.11", Port: 2222, User: "admin"}}
	f := probe.HostFacts{OS: probe.OSRelease{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		Arch: "aarch64", Init: "systemd", Network: probe.NetworkNM, NetworkStacks: probe.NetworkStacks{NetworkManager: true},
		SSHD: probe.SSHDService, UFW: true, NMConnections: []probe.NMProfile{
			{Name: "Wired connection 1", UUID: "a58ffe6b-3ed1-372f-9b93-24a0d654e4a4", Type: "ethernet", Device: "eth0", State: "activated",
				File: "/run/NetworkManager/system-connections/Wired connection 1.nmconnection"},
			{Name: "lan", UUID: "0e1d4d0c-6a5b-5c9e-8f7a-3b2c1d0e9f8a", Type: "ethernet",
				File: "/etc/NetworkManager/system-connections/lan.nmconnection", Persistent: true}}}
	return []*run.HostFacts{{Host: pi, Facts: f, Notes: []string{"recorded the host key"}},
		{Host: web, Err: errors.New(`host web: cannot connect to 10.213.0.11:2222: connection refused`)}}
}

// The table names every fact as a plan reads it, with its value; a host
// that could not be reached shows its error and counts as failed.
func TestFactsTable(t *testing.T) {
	var b strings.Builder
	if failed := Facts(&b, sampleFacts(), Style{}); failed != 1 {
		t.Errorf("failed %d", failed)
	}
	golden(t, "facts", b.String())
}

// Every field of HostFacts has a row, named by its cty tag, and no other.
func TestFactRowsCoverEveryFact(t *testing.T) {
	var names []string
	for _, r := range FactRows(probe.HostFacts{}) {
		names = append(names, r[0])
	}
	want := "os.id os.version_id os.codename os.pretty_name arch init network network_stacks.networkmanager " +
		"network_stacks.systemd_networkd network_stacks.dhcpcd network_stacks.ifupdown sshd ufw nm_connections"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("rows\n got %s\nwant %s", got, want)
	}
}

// -json: one document, each host with its facts under the same names, or
// its error.
func TestFactsJSON(t *testing.T) {
	var b strings.Builder
	failed, err := FactsJSON(&b, sampleFacts())
	if err != nil || failed != 1 {
		t.Fatalf("failed %d, %v", failed, err)
	}
	golden(t, "facts.json", b.String())
	var doc struct {
		Hosts []struct {
			Name  string
			Error string
			Facts map[string]any
		}
	}
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Hosts) != 2 || doc.Hosts[0].Facts["network"] != "networkmanager" || doc.Hosts[0].Facts["os"].(map[string]any)["id"] != "debian" ||
		doc.Hosts[1].Facts != nil || !strings.Contains(doc.Hosts[1].Error, "connection refused") {
		t.Errorf("doc %+v", doc)
	}
}
