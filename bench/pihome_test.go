package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/bench/ansible"
	"github.com/hako-dev/hako/internal/hakobin"
	"github.com/hako-dev/hako/internal/pihome"
	"github.com/hako-dev/hako/internal/testhost"
)

// BenchmarkPiHomeNoOp times a no-op `hako apply examples/pi-home-server`
// (package, ufw, sshd drop-in with its restart handler, PPPoE files: the
// dhcpcd path) against one `ssh host true` to the same host, and against
// Ansible running bench/ansible/playbook.yml (the same setup) on the same
// host, rounds interleaved. Ansible runs first on the host hako converged
// and must change nothing there: that is what makes the playbook the same
// setup.
//
//	sudo go test -run '^$' -bench PiHomeNoOp -benchtime 1x -timeout 0 ./bench/
//
// HAKO_BENCH_PIHOME=0 skips it; HAKO_BENCH_ANSIBLE=0 leaves Ansible out.
func BenchmarkPiHomeNoOp(b *testing.B) {
	if os.Getenv("HAKO_BENCH_PIHOME") == "0" {
		b.Skip("HAKO_BENCH_PIHOME=0")
	}
	testhost.Require(b)
	bin := benchBin(b)
	h, varFile := pihome.Start(b)
	apply := func() {
		out, err := exec.Command(bin, "apply", "../examples/pi-home-server", "-var-file", varFile).CombinedOutput()
		if err != nil {
			b.Fatalf("apply: %v\n%s", err, out)
		}
	}
	apply() // converge; every later run is a no-op
	var playbook func() string
	if withAnsible(b) {
		playbook = ansibleOn(b, h)
		if changed, err := ansible.Changed(playbook(), "pi"); err != nil || changed != 0 {
			b.Fatalf("Ansible on the host hako set up: changed=%d %v: the playbook is not the same setup", changed, err)
		}
	}

	rounds := benchRounds(b)
	var hakoTimes, floorTimes, ansibleTimes []time.Duration
	for b.Loop() { // once with -benchtime 1x: the rounds are the figure
		for len(hakoTimes) < rounds { // interleaved, so that a change in load weighs on all
			floorTimes = append(floorTimes, timeMedian(1, func() {
				if _, code := h.SSH(b, "true"); code != 0 {
					b.Fatal("ssh true failed")
				}
			}))
			hakoTimes = append(hakoTimes, timeMedian(1, apply))
			if playbook != nil {
				ansibleTimes = append(ansibleTimes, timeMedian(1, func() { playbook() }))
			}
		}
	}
	hako, baseline := median(hakoTimes), median(floorTimes)
	b.ReportMetric(float64(hako)/float64(baseline), "x-ssh-true")
	r := Result{Case: "no-op apply, examples/pi-home-server; floor: one ssh host true", Hako: hako, Floor: baseline,
		MaxRatio: 1.0}
	fmt.Printf("pi-home-server no-op apply %v, ssh true %v: %.2fx", hako.Round(time.Millisecond), baseline.Round(time.Millisecond), float64(hako)/float64(baseline))
	if playbook != nil {
		r.Ansible, r.MinFaster = median(ansibleTimes), 50
		fmt.Printf("; Ansible %v: hako %.1fx faster", r.Ansible.Round(time.Millisecond), float64(r.Ansible)/float64(hako))
	}
	fmt.Printf(" (medians of %d)\n", rounds)
	r.Judge()
	record(b, r)
}

// BenchmarkPiHomeFirstApply times the first `hako apply
// examples/pi-home-server` on a freshly started host (apt-get update, a
// package installed, the firewall enabled, eight files written, sshd
// restarted), against `ssh host true` to that host, and Ansible's first
// run of the same playbook on another fresh host. Each round starts its
// hosts anew outside the timed part; the first round checks that hako's
// and Ansible's hosts end in the same state.
//
//	sudo go test -run '^$' -bench PiHomeFirstApply -benchtime 1x -timeout 0 ./bench/
//
// HAKO_BENCH_PIHOME=0 skips it, HAKO_BENCH_ANSIBLE=0 leaves Ansible out;
// HAKO_BENCH_PIHOME_ROUNDS rounds (3 by default: each starts two hosts and
// waits for Ansible's first run).
func BenchmarkPiHomeFirstApply(b *testing.B) {
	if os.Getenv("HAKO_BENCH_PIHOME") == "0" {
		b.Skip("HAKO_BENCH_PIHOME=0")
	}
	testhost.Require(b)
	bin := benchBin(b)
	rounds := 3
	if s := os.Getenv("HAKO_BENCH_PIHOME_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("HAKO_BENCH_PIHOME_ROUNDS: %q is not a number of rounds", s)
		}
		rounds = n
	}
	useAnsible := withAnsible(b)
	var hakoTimes, floorTimes, ansibleTimes []time.Duration
	for b.Loop() { // once with -benchtime 1x: the rounds are the figure
		for i := len(hakoTimes); i < rounds; i++ {
			firstApplyRound(b, bin, i == 0, useAnsible, &hakoTimes, &floorTimes, &ansibleTimes)
		}
	}
	hako, baseline := median(hakoTimes), median(floorTimes)
	b.ReportMetric(float64(hako)/float64(baseline), "x-ssh-true")
	r := Result{Case: "first apply, examples/pi-home-server on a fresh host; floor: one ssh host true", Hako: hako, Floor: baseline,
		MaxTime: 2 * time.Second}
	fmt.Printf("pi-home-server first apply %v, ssh true %v: %.1fx", hako.Round(time.Millisecond), baseline.Round(time.Millisecond), float64(hako)/float64(baseline))
	if useAnsible {
		r.Ansible, r.MinFaster = median(ansibleTimes), 10
		fmt.Printf("; Ansible %v: hako %.1fx faster", r.Ansible.Round(time.Millisecond), float64(r.Ansible)/float64(hako))
	}
	fmt.Printf(" (medians of %d)\n", rounds)
	r.Judge()
	record(b, r)
}

// firstApplyRound times hako's first apply on a fresh host, and Ansible's
// on another when useAnsible, and compares the two hosts after when
// compare; it appends the times to the lists.
func firstApplyRound(b *testing.B, bin string, compare, useAnsible bool, hakoTimes, floorTimes, ansibleTimes *[]time.Duration) {
	h, varFile := pihome.Start(b)
	*floorTimes = append(*floorTimes, timeMedian(3, func() {
		if _, code := h.SSH(b, "true"); code != 0 {
			b.Fatal("ssh true failed")
		}
	}))
	start := time.Now()
	out, err := exec.Command(bin, "apply", "../examples/pi-home-server", "-var-file", varFile).CombinedOutput()
	*hakoTimes = append(*hakoTimes, time.Since(start))
	if err != nil || !strings.Contains(string(out), "changed  package.base") {
		b.Fatalf("first apply: %v\n%s", err, out)
	}
	if useAnsible {
		a, _ := pihome.Start(b)
		playbook := ansibleOn(b, a)
		start := time.Now()
		out := playbook()
		*ansibleTimes = append(*ansibleTimes, time.Since(start))
		if changed, err := ansible.Changed(out, "pi"); err != nil || changed == 0 {
			b.Fatalf("Ansible's first run: changed=%d %v\n%s", changed, err, out)
		}
		if compare {
			if hs, as := piHomeState(b, h), piHomeState(b, a); hs != as {
				b.Fatalf("after a first apply, hako's host and Ansible's differ:\nhako:\n%s\nAnsible:\n%s", hs, as)
			}
		}
		a.Stop(b)
	}
	h.Stop(b)
}

// benchBin is hako built from this tree, or the binary HAKO_BENCH_BIN names.
func benchBin(b *testing.B) string {
	if bin := os.Getenv("HAKO_BENCH_BIN"); bin != "" {
		return bin
	}
	bin, err := hakobin.Build(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return bin
}

// withAnsible says whether the benchmark times Ansible too: unless
// HAKO_BENCH_ANSIBLE=0, and then Ansible must be installed.
func withAnsible(b *testing.B) bool {
	if os.Getenv("HAKO_BENCH_ANSIBLE") == "0" {
		return false
	}
	if err := ansible.Available(); err != nil {
		b.Fatalf("%v; HAKO_BENCH_ANSIBLE=0 leaves Ansible out", err)
	}
	return true
}

// ansibleOn readies h for Ansible (its apt module needs python3-apt on
// the host; python3 is there, for ufw) and returns a function that runs
// the playbook on h as hako's variables set it up, with the same login,
// and returns its output.
func ansibleOn(b *testing.B, h *testhost.Host) func() string {
	installPythonApt(b, h)
	dir := b.TempDir()
	cmd, err := ansible.Write(dir, []ansible.Host{{Name: "pi", Addr: h.Addr, Port: h.Port, User: h.User,
		KeyFile: h.KeyFile, KnownHosts: h.KnownHostsFile(b)}}, map[string]any{
		"ssh_port":       h.Port,
		"pppoe_user":     pihome.PPPoEUser,
		"pppoe_password": pihome.PPPoEPassword,
		"pppoe_connect":  false,
		"extra_packages": []string{pihome.ExtraPackage},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ansible.Close(dir) })
	return func() string {
		c := exec.Command(cmd.Path, cmd.Args[1:]...)
		c.Dir, c.Env = cmd.Dir, cmd.Env
		out, err := c.CombinedOutput()
		if err != nil {
			b.Fatalf("ansible-playbook: %v\n%s", err, out)
		}
		return string(out)
	}
}

// installPythonApt installs python3-apt and what it needs from the .deb
// files in HAKO_BENCH_ANSIBLE_DEBS (scripts/bench.sh downloads them), or
// downloaded with apt-get here: the test hosts reach no mirror.
func installPythonApt(b *testing.B, h *testhost.Host) {
	dir := os.Getenv("HAKO_BENCH_ANSIBLE_DEBS")
	if dir == "" {
		dir = b.TempDir()
		c := exec.Command("apt-get", "download", "python3-apt", "python-apt-common", "distro-info-data")
		c.Dir = dir
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("apt-get download python3-apt: %v\n%s", err, out)
		}
	}
	debs, err := filepath.Glob(filepath.Join(dir, "*.deb"))
	if err != nil || len(debs) == 0 {
		b.Fatalf("no .deb files in %s (HAKO_BENCH_ANSIBLE_DEBS)", dir)
	}
	h.Exec(b, "mkdir -p /var/tmp/bench-debs")
	for _, d := range debs {
		data, err := os.ReadFile(d)
		if err != nil {
			b.Fatal(err)
		}
		h.ExecInput(b, string(data), "cat >/var/tmp/bench-debs/"+filepath.Base(d))
	}
	h.Exec(b, "dpkg -i /var/tmp/bench-debs/*.deb >/dev/null && rm -r /var/tmp/bench-debs")
}

// piHomeState is what examples/pi-home-server sets up on h: its files'
// owners, modes and checksums, its packages, the firewall and sshd.
func piHomeState(b *testing.B, h *testhost.Host) string {
	files := "/etc/dhcpcd.conf /etc/ssh/sshd_config.d/10-hako-hardening.conf /etc/ppp/peers/dsl-provider " +
		"/etc/ppp/chap-secrets /etc/ppp/pap-secrets /etc/network/interfaces.d/dsl-provider " +
		"/etc/ppp/ip-up.d/10dsl-provider /etc/ppp/ip-down.d/10dsl-provider"
	return h.Exec(b, "stat -c '%n %a %U %G' /etc/network/interfaces.d "+files+"; sha256sum "+files+
		"; dpkg-query -W -f='${Package} ${db:Status-Status}\\n' ufw ppp pppoe "+pihome.ExtraPackage+
		"; ufw status verbose; grep '^IPV6=' /etc/default/ufw"+
		"; sshd -T | grep -E '^(port|passwordauthentication|kbdinteractiveauthentication|permitrootlogin) ' | sort"+
		"; systemctl is-active ssh")
}
