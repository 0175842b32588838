#!/usr/bin/env bash
# Runs the bench/ benchmarks against real test hosts (as root: they live in
# network namespaces) and in-process SSH servers, then writes
# bench/RESULTS.md: the date, this machine and a table of medians and
# ratios, each against its floor measured in the same run.
#
# HAKO_BENCH_ROUNDS (5), HAKO_BENCH_SIZES (10,200,1000 file tasks, no-op),
# HAKO_BENCH_FIRST_SIZES (200 file tasks, first apply), HAKO_BENCH_HOSTS
# (200,1000 in-process hosts), HAKO_BENCH_FLEET (20 real hosts) and
# HAKO_BENCH_PIHOME_ROUNDS (3 first applies of examples/pi-home-server)
# size the run; HAKO_BENCH_PIHOME=0 leaves examples/pi-home-server out,
# HAKO_BENCH_ANSIBLE=0 leaves Ansible out.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if [ "$(id -u)" -ne 0 ]; then
	echo "bench.sh: the benchmarks start test hosts, which needs root" >&2
	exit 1
fi
testhost/hakotesthost deps
testhost/hakotesthost rootfs

# Ansible is timed beside hako on examples/pi-home-server: a benchmark
# peer, never a dependency. Debian's ansible package, not ansible-core
# alone: the playbook's firewall module (community.general.ufw) is in the
# collections only the former has.
if [ "${HAKO_BENCH_ANSIBLE:-}" != 0 ]; then
	if ! command -v ansible-playbook >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ansible
	fi
	# Ansible's apt module needs python3-apt on the managed host (python3
	# is there: ufw is a Python program); the test hosts reach no mirror,
	# so the bench installs these files on its hosts before it times.
	debs=/var/cache/hako-bench/debs
	if ! ls "$debs"/python3-apt_*.deb >/dev/null 2>&1; then
		mkdir -p "$debs"
		(cd "$debs" && apt-get download python3-apt python-apt-common distro-info-data)
	fi
	export HAKO_BENCH_ANSIBLE_DEBS=$debs
fi

# HAKO_BENCH_RESULTS names a file to keep the raw results in (one JSON
# object a line), for instance to tabulate what a cut-short run measured.
if [ -n "${HAKO_BENCH_RESULTS:-}" ]; then
	results=$HAKO_BENCH_RESULTS
	: >"$results"
else
	results=$(mktemp)
	trap 'rm -f "$results"' EXIT
fi
export HAKO_BENCH_RESULTS=$results HAKO_E2E_REQUIRED=1
export HAKO_BENCH_ROUNDS=${HAKO_BENCH_ROUNDS:-5}
# -benchtime 1x: each case takes its own rounds and reports their medians.
go test -run '^$' -bench . -benchtime 1x -timeout 0 ./bench/
go run ./bench/tabulate -in "$results" -out bench/RESULTS.md
cat bench/RESULTS.md
