package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// planFor writes a plan for host h (become = true) followed by body and
// returns its directory.
func planFor(t *testing.T, h *testhost.Host, body string) string {
	t.Helper()
	return planWithHost(t, h, "  become        = true\n", body)
}

// planWithHost writes a plan whose host "pi" block logs in to h as pi with
// the test key and h's known_hosts, with the attribute lines extra (become,
// bootstrap, ...) added to the block; body follows it.
func planWithHost(t *testing.T, h *testhost.Host, extra, body string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), fmt.Sprintf(`
host "pi" {
  address       = %q
  port          = %d
  user          = "pi"
  identity_file = %q
  known_hosts   = %q
%s}
`, h.Addr, h.Port, h.KeyFile, h.KnownHostsFile(t), extra)+body)
	return dir
}

func TestPackageInstallFromLocalRepo(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.LocalAptRepo(t, "hako-demo-pkg", "hako-other-pkg")
	dir := planFor(t, h, `
task "package" "demo" {
  names = ["hako-demo-pkg", "hako-other-pkg", "ufw"]
}
`)
	plan := hako(t, "plan", dir)
	mustContain(t, plan, "+ package.demo  install hako-demo-pkg, hako-other-pkg", "hako-demo-pkg: absent → present")
	if strings.Contains(plan.stdout, "ufw: absent") {
		t.Errorf("ufw is in the image already:\n%s", plan)
	}
	apply := hako(t, "apply", dir)
	mustContain(t, apply, "changed  package.demo: install hako-demo-pkg, hako-other-pkg", "pi  ok=0 changed=1 failed=0")
	if got := h.Exec(t, "dpkg-query -W -f='${db:Status-Status} ' hako-demo-pkg hako-other-pkg"); got != "installed installed " {
		t.Errorf("dpkg says %q", got)
	}
	// The lists were missing, so apply fetched them; now they are fresh.
	if got := h.Exec(t, "ls /var/lib/apt/lists | grep -c _Packages"); strings.TrimSpace(got) != "1" {
		t.Errorf("package lists: %s", got)
	}
	mustContain(t, hako(t, "apply", dir), "pi  ok=1 changed=0 failed=0")

	// Removal, then drift repaired.
	absent := planFor(t, h, `
task "package" "gone" {
  names = ["hako-other-pkg"]
  state = "absent"
}
`)
	mustContain(t, hako(t, "apply", absent), "changed  package.gone: remove hako-other-pkg")
	if got := h.Exec(t, "dpkg-query -W -f='${db:Status-Status}' hako-other-pkg || true"); got == "installed" {
		t.Error("still installed")
	}
}

func TestUnknownPackageIsNamed(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.LocalAptRepo(t, "hako-demo-pkg")
	dir := planFor(t, h, `
task "package" "typo" {
  names = ["hako-demo-pkg", "hako-demo-pgk"]
}
`)
	r := hako(t, "apply", dir)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "pi  failed   package.typo: apt does not know the package(s) hako-demo-pgk")
	if got := h.Exec(t, "dpkg-query -W -f='${db:Status-Status}' hako-demo-pkg || true"); got == "installed" {
		t.Error("a failed install must not half-install")
	}
}

// awk is the libz-dev case on the test image: mawk provides it and is
// installed, so apt "installs" awk with success while dpkg never knows it.
func TestPackageVirtualNameFailsClearly(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "package" "awk" {
  names = ["awk"]
}
`)
	for _, cmd := range []string{"plan", "apply", "plan"} {
		r := hako(t, cmd, dir)
		if r.code != 1 {
			t.Fatalf("%s: want exit 1:\n%s", cmd, r)
		}
		mustContain(t, r, "package.awk", "awk is a virtual package (provided by mawk): name the real package")
	}
	// Check stopped it: apt never ran, so it never fetched lists.
	if got := h.Exec(t, "ls /var/lib/apt/lists | grep -c _Packages || true"); strings.TrimSpace(got) != "0" {
		t.Errorf("apt-get ran: %s package lists", got)
	}
}

// The local repository's files are two hours old, as a mirror's are: apt
// gives the lists it fetches their mtimes, which must not make them stale.
func TestPackageCacheValidSkipsUpdate(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.LocalAptRepo(t, "hako-first-pkg", "hako-second-pkg")
	h.Exec(t, "touch -d '-2 hours' /srv/hako-apt/*")
	install := func(name string) result {
		t.Helper()
		return hako(t, "apply", planFor(t, h, fmt.Sprintf(`
task "package" "p" {
  names               = [%q]
  cache_valid_seconds = 3600
}
`, name)))
	}
	const stamp = "stat -c %Y /var/lib/apt/periodic/update-success-stamp"
	mustContain(t, install("hako-first-pkg"), "changed  package.p: install hako-first-pkg")
	before := h.Exec(t, stamp)

	// A package added to the repository now shows whether apt-get update
	// runs: only an update puts it into the lists.
	h.LocalAptRepo(t, "hako-third-pkg")
	h.Exec(t, "touch -d '-2 hours' /srv/hako-apt/*; sleep 1")
	mustContain(t, install("hako-second-pkg"), "changed  package.p: install hako-second-pkg")
	if got := h.Exec(t, "grep -c '^Package: hako-third-pkg' /var/lib/apt/lists/*_Packages || true"); strings.TrimSpace(got) != "0" {
		t.Error("apt-get update ran although the lists were fresh")
	}
	if after := h.Exec(t, stamp); after != before {
		t.Errorf("update-success-stamp moved from %s to %s", before, after)
	}

	// Fresh lists that do not know a name yet are refreshed once.
	mustContain(t, install("hako-third-pkg"), "changed  package.p: install hako-third-pkg")
	if after := h.Exec(t, stamp); after == before {
		t.Error("the update for hako-third-pkg did not touch update-success-stamp")
	}
}

func TestServiceOnSystemd(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	dir := planFor(t, h, `
task "file" "unit" {
  path    = "/etc/systemd/system/hako-demo.service"
  content = "[Unit]\nDescription=hako demo\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"
  notify  = ["restart_demo"]
}
task "service" "demo" {
  name    = "hako-demo"
  enabled = true
  state   = "started"
}
handler "restart_demo" {
  service = "hako-demo"
}
`)
	plan := hako(t, "plan", dir)
	mustContain(t, plan, "~ service.demo  update hako-demo (not installed yet)", "state: ")
	apply := hako(t, "apply", dir)
	mustContain(t, apply, "changed  service.demo", "changed  handler restart_demo: systemctl restart hako-demo", "pi  ok=0 changed=3 failed=0")
	if got := h.Exec(t, "systemctl is-enabled hako-demo; systemctl is-active hako-demo"); got != "enabled\nactive\n" {
		t.Errorf("systemctl says %q", got)
	}
	mustContain(t, hako(t, "apply", dir), "pi  ok=2 changed=0 failed=0")
	h.Exec(t, "systemctl stop hako-demo")
	mustContain(t, hako(t, "plan", dir), "~ service.demo  update hako-demo", "state: inactive → started")
}

func TestServiceWithoutSystemdSaysSo(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "service" "ssh" {
  name  = "ssh"
  state = "started"
}
`)
	r := hako(t, "plan", dir)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	mustContain(t, r, "service.ssh", "the host does not run systemd")
}
