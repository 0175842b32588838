package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// factsHost is a host block for h named name.
func factsHost(t *testing.T, name string, h *testhost.Host) string {
	return fmt.Sprintf(`
host %q {
  address       = %q
  port          = %d
  user          = %q
  identity_file = %q
  known_hosts   = %q
  become        = true
}
`, name, h.Addr, h.Port, h.User, h.KeyFile, h.KnownHostsFile(t))
}

// twoInits starts a lite and a systemd host and writes a plan for both
// ("lite" and "sysd") followed by body.
func twoInits(t *testing.T, body string) (lite, sysd *testhost.Host, dir string) {
	t.Helper()
	testhost.Require(t)
	lite = testhost.Start(t, testhost.Options{})
	sysd = testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	dir = t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), factsHost(t, "lite", lite)+factsHost(t, "sysd", sysd)+body)
	return lite, sysd, dir
}

type factsJSON struct {
	OS struct {
		ID         string `json:"id"`
		VersionID  string `json:"version_id"`
		Codename   string `json:"codename"`
		PrettyName string `json:"pretty_name"`
	} `json:"os"`
	Arch          string          `json:"arch"`
	Init          string          `json:"init"`
	Network       string          `json:"network"`
	NetworkStacks map[string]bool `json:"network_stacks"`
	SSHD          string          `json:"sshd"`
	UFW           bool            `json:"ufw"`
	// NMConnections is a pointer, so that null (not an empty list) shows.
	NMConnections *[]map[string]any `json:"nm_connections"`
}

// hako facts on real hosts: Debian 12 bookworm, this machine's
// architecture (the hosts share its kernel), systemd or the lite host's
// shell as PID 1, sshd as a daemon, ufw installed; a process named
// dhcpcd on the lite host makes dhcpcd its network stack.
func TestFactsOnRealHosts(t *testing.T) {
	lite, sysd, dir := twoInits(t, "")
	lite.Exec(t, "cp /bin/sleep /usr/local/sbin/dhcpcd && (setsid /usr/local/sbin/dhcpcd 600 </dev/null >/dev/null 2>&1 &)")
	arch, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	r := hako(t, "facts", "-json", dir)
	if r.code != 0 {
		t.Fatalf("facts -json\n%s", r)
	}
	var doc struct {
		Hosts []struct {
			Name  string     `json:"name"`
			Error string     `json:"error"`
			Facts *factsJSON `json:"facts"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Hosts) != 2 {
		t.Fatalf("%v\n%s", err, r)
	}
	liteInit := strings.TrimSpace(lite.Exec(t, "cat /proc/1/comm"))
	for i, want := range []struct {
		name, init, network string
	}{{"lite", liteInit, "dhcpcd"}, {"sysd", "systemd", "none"}} {
		h := doc.Hosts[i]
		f := h.Facts
		if h.Name != want.name || f == nil {
			t.Fatalf("host %d: %+v", i, h)
		}
		if f.OS.ID != "debian" || f.OS.VersionID != "12" || f.OS.Codename != "bookworm" || f.OS.PrettyName != "Debian GNU/Linux 12 (bookworm)" ||
			f.Arch != strings.TrimSpace(string(arch)) || f.Init != want.init || f.Network != want.network ||
			f.NetworkStacks["dhcpcd"] != (want.network == "dhcpcd") || f.NetworkStacks["networkmanager"] || f.SSHD != "service" || !f.UFW ||
			f.NMConnections == nil || len(*f.NMConnections) != 0 {
			t.Errorf("%s: %+v", h.Name, *f)
		}
	}
	if liteInit == "systemd" {
		t.Errorf("the lite host runs systemd")
	}

	table := hako(t, "facts", "-host", "sysd", dir)
	mustContain(t, table, "host sysd (pi@"+sysd.Addr, `  host.facts.os.id                            "debian"`,
		`  host.facts.init                             "systemd"`, `  host.facts.ufw                              true`)
	if table.code != 0 || strings.Contains(table.stdout, "host lite") {
		t.Errorf("-host sysd\n%s", table)
	}
}

// when = host.facts.init == "systemd": the task runs on the systemd host
// and not on the lite one, with the facts in its content; validate checks
// the plan without a host; a second apply changes nothing.
func TestFactsDecideTasksOnRealHosts(t *testing.T) {
	lite, sysd, dir := twoInits(t, `
task "file" "systemd_only" {
  path    = "/etc/hako-systemd"
  content = "${host.facts.os.id} ${host.facts.os.codename} ${host.facts.init}\n"
  when    = host.facts.init == "systemd"
}
task "file" "everyone" {
  path    = "/etc/hako-everyone"
  content = "${host.name}\n"
}
`)
	if v := hako(t, "validate", dir); v.code != 0 || !strings.Contains(v.stdout, "2 host(s), 4 task(s) in all") {
		t.Errorf("validate\n%s", v)
	}
	plan := hako(t, "plan", dir)
	mustContain(t, plan, "+ file.systemd_only  create /etc/hako-systemd", "+ file.everyone  create /etc/hako-everyone")
	if plan.code != 0 || strings.Count(plan.stdout, "file.systemd_only") != 1 {
		t.Errorf("plan\n%s", plan)
	}
	apply := hako(t, "apply", dir)
	mustContain(t, apply, "sysd  changed  file.systemd_only", "lite  ok=0 changed=1 failed=0 skipped=0", "sysd  ok=0 changed=2 failed=0 skipped=0")
	if apply.code != 0 || strings.Contains(apply.stdout, "lite  changed  file.systemd_only") {
		t.Errorf("apply\n%s", apply)
	}
	if got := sysd.Exec(t, "cat /etc/hako-systemd"); got != "debian bookworm systemd\n" {
		t.Errorf("systemd host: %q", got)
	}
	if got := lite.Exec(t, "test -e /etc/hako-systemd && echo there || echo absent"); got != "absent\n" {
		t.Errorf("lite host: %s", got)
	}
	again := hako(t, "apply", dir)
	mustContain(t, again, "lite  ok=1 changed=0 failed=0 skipped=0", "sysd  ok=2 changed=0 failed=0 skipped=0")
}

// On a card as Imager leaves it (NetworkManager running, systemd), the
// facts say NetworkManager owns the network and list its profiles (the
// saved preconfigured, NetworkManager's own lo in /run), and a task for
// NetworkManager hosts runs, with them in its content, while one for
// dhcpcd hosts does not.
func TestFactsOnNetworkManagerHost(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), factsHost(t, "pi", h)+`
task "file" "nm" {
  path    = "/etc/hako-nm"
  content = "${host.facts.network}\n${join("\n", sort([for c in host.facts.nm_connections : "${c.name} ${c.type} ${c.device} ${c.persistent}"]))}\n"
  when    = host.facts.network == "networkmanager"
}
task "file" "dhcpcd" {
  path    = "/etc/dhcpcd.conf"
  content = "interface eth0\n"
  when    = host.facts.network == "dhcpcd"
}
`)
	r := hako(t, "facts", dir)
	mustContain(t, r, `  host.facts.init                             "systemd"`,
		`  host.facts.network                          "networkmanager"`,
		`  host.facts.network_stacks.networkmanager    true`)
	// The profiles, in nmcli's order, which this test does not rely on.
	uuid := func(name string) string {
		return strings.TrimSpace(h.Exec(t, "nmcli -g connection.uuid connection show "+name))
	}
	want := []string{
		`name="lo" uuid="` + uuid("lo") + `" type="loopback" device="lo" state="activated" file="/run/NetworkManager/system-connections/lo.nmconnection" persistent=false netplan=false`,
		`name="preconfigured" uuid="` + uuid("preconfigured") + `" type="ethernet" device="eth0" state="activated" file="/etc/NetworkManager/system-connections/preconfigured.nmconnection" persistent=true netplan=false`}
	if got := nmProfileRows(r.stdout); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Errorf("hako facts' profiles:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	apply := hako(t, "apply", dir)
	mustContain(t, apply, "pi  changed  file.nm", "pi  ok=0 changed=1 failed=0 skipped=0")
	if apply.code != 0 || strings.Contains(apply.stdout, "file.dhcpcd") {
		t.Errorf("apply\n%s", apply)
	}
	if got := h.Exec(t, "cat /etc/hako-nm"); got != "networkmanager\nlo loopback lo false\npreconfigured ethernet eth0 true\n" {
		t.Errorf("/etc/hako-nm: %q", got)
	}
}

// nmProfileRows joins the host.facts.nm_connections[N].FIELD rows of a
// hako facts table into one line per profile, "FIELD=VALUE ...", by N.
func nmProfileRows(table string) []string {
	var rows []string
	for _, l := range strings.Split(table, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "host.facts.nm_connections[")
		if !ok {
			continue
		}
		var i int
		var field, value string
		if n, _ := fmt.Sscanf(rest, "%d].%s", &i, &field); n != 2 {
			continue
		}
		value = strings.TrimSpace(rest[strings.Index(rest, field)+len(field):])
		for len(rows) <= i {
			rows = append(rows, "")
		}
		rows[i] = strings.TrimSpace(rows[i] + " " + field + "=" + value)
	}
	return rows
}
