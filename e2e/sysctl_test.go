package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
	"github.com/hako-dev/hako/tasks"
)

// sysctlState is what the sysctl tasks manage on the host: the live values
// (per network namespace, so the test host's own) and the files.
func sysctlState(t *testing.T, h *testhost.Host) string {
	return h.Exec(t, "cd /proc/sys/net/ipv4 && cat ip_forward conf/all/rp_filter ip_local_port_range; "+
		"for f in /etc/sysctl.d/99-hako-forwarding.conf /etc/sysctl.d/60-net.conf; do "+
		"if [ -e $f ]; then stat -c '%n %a %U %G' $f; cat $f; else echo \"$f missing\"; fi; done")
}

// The sysctl task on a real host: plan shows the live values and the file
// lines it changes and changes nothing; apply sets the live values with
// sysctl and writes the files, keeping the other lines of a shared one; a
// second apply has nothing to do; drift by hand is found and fixed.
func TestSysctl(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, "echo 0 >/proc/sys/net/ipv4/ip_forward && echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter && "+
		"echo '32768 60999' >/proc/sys/net/ipv4/ip_local_port_range && "+
		"printf '# site settings\\nnet.ipv4.conf.all.rp_filter=0\\nnet.ipv4.tcp_syncookies = 1\\n' >/etc/sysctl.d/60-net.conf")
	dir := planFor(t, h, `
task "sysctl" "forwarding" {
  name  = "net.ipv4.ip_forward"
  value = 1
}
task "sysctl" "rp_filter" {
  name  = "net.ipv4.conf.all.rp_filter"
  value = "2"
  file  = "/etc/sysctl.d/60-net.conf"
}
task "sysctl" "ports" {
  name  = "net.ipv4.ip_local_port_range"
  value = "20000   40000"
  file  = "/etc/sysctl.d/60-net.conf"
}
`)
	before := sysctlState(t, h)
	plan := hako(t, "plan", dir)
	if plan.code != 0 {
		t.Fatalf("plan failed:\n%s", plan)
	}
	t.Logf("plan:\n%s", plan.stdout)
	mustContain(t, plan,
		"+ sysctl.forwarding  net.ipv4.ip_forward = 1 (new /etc/sysctl.d/99-hako-forwarding.conf)\n      value: 0 → 1\n",
		"+net.ipv4.ip_forward = 1\n",
		"~ sysctl.rp_filter  net.ipv4.conf.all.rp_filter = 2\n      value: 0 → 2\n",
		"-net.ipv4.conf.all.rp_filter=0\n", "+net.ipv4.conf.all.rp_filter = 2\n",
		"~ sysctl.ports  net.ipv4.ip_local_port_range = 20000 40000\n      value: 32768 60999 → 20000 40000\n",
		"+net.ipv4.ip_local_port_range = 20000\t40000\n",
		"Plan: 3 to change, 0 unchanged.")
	// The same changes as data, read back into their Go types.
	js := hako(t, "plan", "-json", dir)
	var doc struct {
		Hosts []struct {
			Changes []*tasks.Change `json:"changes"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil || len(doc.Hosts) != 1 || len(doc.Hosts[0].Changes) != 3 {
		t.Fatalf("plan -json: %v\n%s", err, js)
	}
	wantPlans := map[string]tasks.SysctlPlan{
		"sysctl.forwarding": {Live: "0", SetLive: true, Write: true, Mode: 0o644, Owner: "root", Group: "root"},
		"sysctl.rp_filter":  {Live: "0", SetLive: true, Write: true, Mode: 0o644, Owner: "0", Group: "0"},
		"sysctl.ports":      {Live: "32768\t60999", SetLive: true, Write: true, Mode: 0o644, Owner: "0", Group: "0"},
	}
	for _, c := range doc.Hosts[0].Changes {
		p, ok := c.Planned.(*tasks.SysctlPlan)
		if !ok || *p != wantPlans[c.Address.String()] {
			t.Errorf("plan -json: %s planned %#v, want %#v", c.Address, c.Planned, wantPlans[c.Address.String()])
		}
	}
	if after := sysctlState(t, h); after != before {
		t.Fatalf("plan changed the host:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	apply := hako(t, "apply", dir)
	if apply.code != 0 {
		t.Fatalf("apply failed:\n%s", apply)
	}
	mustContain(t, apply, "changed  sysctl.forwarding", "changed  sysctl.rp_filter", "changed  sysctl.ports", "pi  ok=0 changed=3 failed=0")
	want := "1\n2\n20000\t40000\n" +
		"/etc/sysctl.d/99-hako-forwarding.conf 644 root root\nnet.ipv4.ip_forward = 1\n" +
		"/etc/sysctl.d/60-net.conf 644 root root\n# site settings\nnet.ipv4.conf.all.rp_filter = 2\nnet.ipv4.tcp_syncookies = 1\nnet.ipv4.ip_local_port_range = 20000\t40000\n"
	if got := sysctlState(t, h); got != want {
		t.Errorf("after apply:\n%s\nwant:\n%s", got, want)
	}
	again := hako(t, "apply", dir)
	if again.code != 0 {
		t.Fatalf("second apply failed:\n%s", again)
	}
	mustContain(t, again, "pi  ok=3 changed=0 failed=0")

	// The files are what the system reads at boot: sysctl(8) takes them.
	if got := h.Exec(t, "echo 0 >/proc/sys/net/ipv4/ip_forward && sysctl -q -p /etc/sysctl.d/99-hako-forwarding.conf && cat /proc/sys/net/ipv4/ip_forward"); got != "1\n" {
		t.Errorf("sysctl -p of the task's file: ip_forward %q", got)
	}

	// Drift by hand: the live value only.
	h.Exec(t, "echo 1 >/proc/sys/net/ipv4/conf/all/rp_filter")
	drift := hako(t, "plan", dir)
	mustContain(t, drift, "~ sysctl.rp_filter  net.ipv4.conf.all.rp_filter = 2\n      value: 1 → 2\n  (2 unchanged)\n", "Plan: 1 to change, 2 unchanged.")
	mustContain(t, hako(t, "apply", dir), "changed  sysctl.rp_filter", "pi  ok=2 changed=1 failed=0")
	if got := h.Exec(t, "cat /proc/sys/net/ipv4/conf/all/rp_filter"); got != "2\n" {
		t.Errorf("rp_filter after the drift's apply: %q", got)
	}
}

// A parameter the host lacks fails the plan, naming the task; a value the
// kernel refuses fails the apply before the file is written.
func TestSysctlErrors(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	dir := planFor(t, h, `
task "sysctl" "missing" {
  name  = "net.ipv4.no_such_parameter"
  value = 1
}
`)
	plan := hako(t, "plan", dir)
	if plan.code != 1 {
		t.Errorf("plan of a parameter the host lacks: want exit 1\n%s", plan)
	}
	mustContain(t, plan, "error sysctl.missing: the host has no kernel parameter net.ipv4.no_such_parameter (/proc/sys/net/ipv4/no_such_parameter is missing)")

	dir = planFor(t, h, `
task "sysctl" "bad" {
  name  = "net.ipv4.ip_forward"
  value = "yes"
}
`)
	apply := hako(t, "apply", dir)
	if apply.code == 0 {
		t.Fatalf("apply of a value the kernel refuses succeeded:\n%s", apply)
	}
	mustContain(t, apply, "failed   sysctl.bad", `setting net.ipv4.ip_forward to "yes"`, "Invalid argument")
	if got := h.Exec(t, "ls /etc/sysctl.d/; cat /proc/sys/net/ipv4/ip_forward"); strings.Contains(got, "hako") || !strings.HasSuffix(got, "0\n") {
		t.Errorf("a refused value left a file or changed the value:\n%s", got)
	}
}

// A network parameter set live can cut hako's connection: with -confirm the
// change is guarded (the file saved first) and confirmed over a new
// connection. The same parameter for the next boot only is not guarded.
func TestSysctlConfirm(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	h.Exec(t, "echo 0 >/proc/sys/net/ipv4/ip_forward")
	dir := planFor(t, h, `
task "sysctl" "forwarding" {
  name  = "net.ipv4.ip_forward"
  value = 1
}
`)
	r := hako(t, "apply", "-confirm", "60s", dir)
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	mustContain(t, r, "guarded change", "confirmed over a new connection", "changed  sysctl.forwarding")
	if got := h.Exec(t, "cat /proc/sys/net/ipv4/ip_forward; ls /var/lib/hako/guard | wc -l"); got != "1\n0\n" {
		t.Errorf("ip_forward and guard snapshots left: %q", got)
	}

	dir = planFor(t, h, `
task "sysctl" "boot_only" {
  name  = "net.ipv4.conf.all.rp_filter"
  value = 2
  apply = false
}
`)
	r = hako(t, "apply", "-confirm", "60s", dir)
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "guarded change") {
		t.Fatalf("apply = false: want an unguarded apply:\n%s", r)
	}
	mustContain(t, r, "changed  sysctl.boot_only")
}
