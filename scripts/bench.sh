#!/usr/bin/env bash
# Runs the bench/ benchmarks against real test hosts (as root: they live in
# network namespaces) and in-process SSH servers, then writes
# bench/RESULTS.md: the date, this machine and a table of medians and
# ratios, each against its floor measured in the same run.
#
# HAKO_BENCH_ROUNDS (5), HAKO_BENCH_SIZES (10,200,1000 file tasks),
# HAKO_BENCH_HOSTS (200,1000 in-process hosts) and HAKO_BENCH_FLEET (20
# real hosts) size the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if [ "$(id -u)" -ne 0 ]; then
	echo "bench.sh: the benchmarks start test hosts, which needs root" >&2
	exit 1
fi
testhost/hakotesthost deps
testhost/hakotesthost rootfs

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
