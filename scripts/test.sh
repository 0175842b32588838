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

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted" >&2
	exit 1
fi
go vet ./...
# -parallel 4: the guard tests mostly wait out rollback deadlines on their own
# test hosts; on a 2-CPU machine the default (GOMAXPROCS) would queue them.
go test -race -count=1 -parallel 4 "$@" ./...
