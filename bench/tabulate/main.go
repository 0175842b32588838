// Command tabulate writes bench/RESULTS.md from the results the bench/
// benchmarks recorded (HAKO_BENCH_RESULTS): the date, this machine, and a
// table of medians and ratios, then what was not measured.
//
//	go run ./bench/tabulate -in results.jsonl -out bench/RESULTS.md
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hako-dev/hako/bench/results"
)

// notes follow the table: what the table cannot say by itself.
var notes = []string{
	"Medians of the rounds of each case (HAKO_BENCH_ROUNDS); the floor of each case is measured in the same run, " +
		"rounds interleaved with hako's, so that the machine's load weighs on both. The machine is shared: its CPUs " +
		"also run other work during the run, which makes absolute times vary from run to run; the ratios vary less.",
	"The in-process hosts are SSH servers inside the benchmark's own process (no systemd on them, like the lite " +
		"test hosts); their time is mostly the shell commands they run for hako on this machine's CPUs, so their wall " +
		"times say little. hako's own cost is read from the kernel for the hako process alone: per host is what N " +
		"hosts cost over one host, divided by N-1 (CPU: user + system time; memory: peak resident set size).",
	"The test hosts all run on this machine: in the many-hosts case their sshd and the processes each host's " +
		"probe starts (the file cases' last column counts them for one host) share the machine's CPUs with hako " +
		"and with each other, while the floor's `ssh true` starts a few processes a host. hako's own CPU per host " +
		"(the in-process case) is a small part of that wall time; on separate machines the hosts' work would " +
		"run side by side.",
	"examples/pi-home-server runs on systemd test hosts shaped as an older card (dhcpcd path, with PPPoE and no " +
		"session started; sshd on 2222), as its end-to-end tests run it. Ansible (Debian's ansible package, a benchmark " +
		"peer only) runs bench/ansible/playbook.yml, the same tasks, with ssh pipelining on, strict host key checking " +
		"against the same known_hosts file, the same user and key, and its other defaults (ControlPersist keeps its SSH " +
		"connection between back-to-back runs, which helps its no-op rounds). Two differences favour it: it gathers no " +
		"facts, and its firewall rules are not exclusive. Its apt module needs python3-apt on the host, which the " +
		"bench installs from .deb files before it times (python3 is in the image already: ufw needs it); hako needs " +
		"neither. Ansible's first run on hako's converged host must change nothing, and after a first apply both " +
		"hosts must hold the same files, packages, firewall and sshd, or the bench fails.",
	"First applies: each round starts fresh hosts, outside the timed part; a first apply of examples/pi-home-server " +
		"runs apt-get update, installs a package from the host's local repository, enables the firewall, writes eight " +
		"files and restarts sshd (HAKO_BENCH_PIHOME_ROUNDS rounds, 3 by default).",
	profileNote,
}

// profileNote points from every RESULTS.md to the profile of the targets
// not met: where each case's wall time goes (hako's own CPU, the
// handshake, sudo, the probe's processes, the SFTP writes), measured by
// hand with strace on both ends, which a timed run cannot show.
const profileNote = "Why the targets not met are missed, with the profile that shows it (the share of each case's wall " +
	"time in hako's own CPU, ssh_config reading, the SSH handshake and PAM, sudo, the probe's processes on the host " +
	"and the SFTP writes; its method, date and the machine's load when measured): bench/PROFILE.md."

func main() {
	in := flag.String("in", "", "results file, one JSON object a line")
	out := flag.String("out", "bench/RESULTS.md", "Markdown file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "tabulate:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rs, err := results.Read(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(rs) == 0 {
		return fmt.Errorf("%s: no results", in)
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := results.Write(w, time.Now(), results.Machine(), rs, notes); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
