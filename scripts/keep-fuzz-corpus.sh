#!/usr/bin/env bash
# Copies what the fuzzer found interesting (the inputs that reached new
# code, kept by Go in its build cache) into each package's
# testdata/fuzz/<Target>/, where `go test` runs them as ordinary tests and
# where the next long run starts from them on any machine. Run it after a
# long fuzzing run (see the README's Tests section), then commit the new
# files. Inputs already there are left as they are; nothing is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
module=$(go list -m)
cache="$(go env GOCACHE)/fuzz/$module"
if [[ ! -d $cache ]]; then
	echo "no fuzz corpus in $cache: fuzz first" >&2
	exit 1
fi
added=0
for dir in "$cache"/*/Fuzz*/ "$cache"/*/*/Fuzz*/; do
	[[ -d $dir ]] || continue
	dir=${dir%/}
	target=${dir##*/}
	pkg=${dir%/*}
	pkg=${pkg#"$cache"/}
	# Only targets that still exist: a renamed or removed one's cache stays
	# behind until Go's cache is trimmed.
	if ! grep -qs "^func $target(" "$pkg"/*_test.go; then
		echo "skipped $pkg/$target: no such fuzz target now" >&2
		continue
	fi
	dest="$pkg/testdata/fuzz/$target"
	mkdir -p "$dest"
	for f in "$dir"/*; do
		[[ -f $f ]] || continue
		if [[ ! -e $dest/${f##*/} ]]; then
			cp "$f" "$dest/"
			added=$((added + 1))
		fi
	done
done
echo "$added inputs added under */testdata/fuzz/"
