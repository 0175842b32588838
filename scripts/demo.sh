#!/usr/bin/env bash
# The demo: build hako, start a disposable local test host (a Debian
# bookworm root filesystem dressed as a freshly flashed Raspberry Pi, in its
# own network namespace, with real sshd and sudo), preview and apply
# examples/quickstart, then apply again to show that nothing changes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root: the test host needs network namespaces and mounts" >&2
	exit 1
fi
testhost/hakotesthost deps
testhost/hakotesthost rootfs
go build -o bin/hako ./cmd/hako

work=$(mktemp -d)
name=demo$$
cleanup() { testhost/hakotesthost stop "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N '' -C hako-demo -f "$work/id_ed25519"
read -r _ addr port _ < <(testhost/hakotesthost start "$name" --authorized-key "$work/id_ed25519.pub")
# Trust the host key out of band, as you would after reading its
# fingerprint on the console (without this, hako refuses the unknown key).
echo "$addr $(testhost/hakotesthost hostkey "$name")" >"$work/known_hosts"

export HAKO_VAR_token=demo-token-never-printed
vars=(-var "address=$addr" -var "port=$port" -var "identity_file=$work/id_ed25519" -var "known_hosts=$work/known_hosts")
step() { printf '\n$ %s\n' "$*"; "$@"; }
step bin/hako plan examples/quickstart "${vars[@]}"
step bin/hako apply examples/quickstart "${vars[@]}"
step bin/hako apply examples/quickstart "${vars[@]}"
echo
echo "The second apply changed nothing (changed=0). The test host is removed now."
