#!/usr/bin/env bash
# Runs the whole test suite. As root it first installs what the end-to-end
# tests need and builds the test hosts' root filesystem (cached); without
# root those tests skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if [ "$(id -u)" -eq 0 ]; then
	testhost/hakotesthost deps
	testhost/hakotesthost rootfs
else
	echo "test.sh: not root, so the end-to-end tests against real hosts will skip" >&2
fi

unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
# Every laptop: hako must build for macOS and Windows and vet clean there
# (vet type-checks the tests too), and the tests of the packages with
# per-system code must compile and link there (once per system: no file
# depends on the architecture). Nothing runs on those systems here; the
# per-system logic has unit tests that run on every system.
for target in darwin/amd64 darwin/arm64 windows/amd64; do
	export GOOS=${target%/*} GOARCH=${target#*/}
	go build -o /dev/null ./cmd/hako
	go vet ./...
	if [ "$target" != darwin/amd64 ]; then
		for pkg in hosts plan tasks; do
			go test -c -o /dev/null "./$pkg"
		done
	fi
	unset GOOS GOARCH
done
# Shell that hako carries or runs lives in .sh files; shellcheck keeps it
# honest (testhost/hakotesthost deps installs it as root).
if command -v shellcheck >/dev/null; then
	{ git ls-files -z '*.sh'; printf '%s\0' testhost/hakotesthost; } | xargs -0 shellcheck -S warning
else
	echo "test.sh: shellcheck is not installed, so the .sh files are not checked" >&2
fi
# -parallel 4: the guard tests mostly wait out rollback deadlines on their own
# test hosts; on a 2-CPU machine the default (GOMAXPROCS) would queue them.
# Tests that measure something (race attempts, counts) append their figures
# to this file; they are printed after the suite, pass or fail.
HAKO_FIGURES=$(mktemp)
export HAKO_FIGURES
trap 'rm -f "$HAKO_FIGURES"' EXIT
status=0
# -timeout 60m: the end-to-end package runs its real-host tests one after
# the other for several minutes, past go test's default of 10 minutes.
go test -race -count=1 -parallel 4 -timeout 60m "$@" ./... || status=$?
# A short run of every fuzz target (their seeds and the corpus kept in
# testdata/fuzz ran above, as tests): 10 s each with one worker, two
# targets at a time (one per CPU), about 2 minutes in all. Go fuzzes one
# target per run. Long runs are by hand: see the README's Tests section.
fuzz_targets=(
	plan:FuzzPlan templates:FuzzTemplateFile
	probe:FuzzDecode probe:FuzzRecordRoundTrip probe:FuzzStatRecord probe:FuzzEndpoint
	ufw:FuzzHostState ufw:FuzzUserRules ufw:FuzzDefaultFile ufw:FuzzNormalize
	preflight:FuzzSSHDConfig run:FuzzSSHDAnswer guard:FuzzPending
	hosts:FuzzKnownHosts hosts:FuzzKnownHostsLine hosts:FuzzMatchPattern hosts:FuzzSSHConfig
)
fuzz_logs=$(mktemp -d)
trap 'rm -rf "$HAKO_FIGURES" "$fuzz_logs"' EXIT
# fuzz PKG:TARGET runs one target; its output is shown only when it fails.
fuzz() {
	local pkg=${1%%:*} target=${1#*:}
	if ! go test -vet=off -run '^$' -fuzz "^${target}\$" -fuzztime 10s -fuzzminimizetime 5s -parallel 1 "./$pkg/" >"$fuzz_logs/$target" 2>&1; then
		# Go before 1.27 can fail a target with a bare "context deadline
		# exceeded" as -fuzztime ends, on a loaded machine, having found
		# nothing (golang/go#75804): no input is written then. A real
		# finding always writes its input, and fails here.
		if grep -q '^    context deadline exceeded$' "$fuzz_logs/$target" && ! grep -q 'Failing input written to' "$fuzz_logs/$target"; then
			echo "fuzz $target: ended by Go's fuzztime race (golang/go#75804), no failing input: $(grep -o 'execs: [0-9]*' "$fuzz_logs/$target" | tail -n 1)"
			return 0
		fi
		cat "$fuzz_logs/$target"
		echo "fuzz target $target (./$pkg/) failed; the input is in $pkg/testdata/fuzz/$target/" >&2
		return 1
	fi
	# go test passes a -fuzz pattern that names no target, fuzzing nothing.
	if ! grep -q 'execs: [0-9]' "$fuzz_logs/$target"; then
		cat "$fuzz_logs/$target"
		echo "fuzz target $target (./$pkg/) did not run: is it still there?" >&2
		return 1
	fi
	echo "fuzz $target: $(grep -o 'execs: [0-9]*' "$fuzz_logs/$target" | tail -n 1) in 10 s"
}
for ((i = 0; i < ${#fuzz_targets[@]}; i += 2)); do
	pids=()
	for t in "${fuzz_targets[@]:i:2}"; do
		fuzz "$t" &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do
		wait "$p" || status=1
	done
done
if [ -s "$HAKO_FIGURES" ]; then
	echo "== figures measured by the tests"
	sort "$HAKO_FIGURES"
fi
exit "$status"
