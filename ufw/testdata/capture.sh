#!/bin/sh
# capture.sh: record what ufw really says on a real test host, for the tests of package ufw and of the ufw task.
# Run as root from the repository root: ufw/testdata/capture.sh
# Each scenario directory gets what the ufw task probes: `ufw status verbose` (stdout and exit
# status), /etc/ufw/user.rules, /etc/ufw/user6.rules and /etc/default/ufw, plus `ufw show
# added` (what ufw prints as commands, used to check hako's rendering of the same rules).
set -eu
name=ufwcap-$$
dir=$(cd "$(dirname "$0")" && pwd)
ht=testhost/hakotesthost
rm -rf "${dir:?}"/*/
$ht start "$name" >/dev/null
trap '$ht stop "$name" >/dev/null' EXIT
x() { $ht exec "$name" sh -c "$1"; }
capture() {
	d=$dir/$1
	mkdir -p "$d"
	rc=0
	x 'LC_ALL=C ufw status verbose 2>/dev/null' >"$d/status.txt" || rc=$?
	echo "$rc" >"$d/status.exit"
	x 'LC_ALL=C ufw show added 2>/dev/null || true' >"$d/show-added.txt"
	for f in user.rules user6.rules; do
		x "cat /etc/ufw/$f 2>/dev/null || true" >"$d/$f"
	done
	x 'cat /etc/default/ufw 2>/dev/null || true' >"$d/default-ufw"
}
seed='ufw default deny incoming
ufw allow 22
ufw allow from 192.168.0.0/24 to any port 5900
ufw allow 80
ufw allow 443'

# A fresh card: ufw installed, inactive, no rules.
x 'ufw --version | head -1' >"$dir/version.txt"
capture inactive-fresh
# The home server's firewall (SSH, 80 and 443 open, VNC from the LAN only), added while inactive.
x "$seed" >/dev/null
capture inactive-seed
# Enabled: the same rules, now running, for IPv4 and IPv6.
x 'ufw --force enable' >/dev/null
capture active-seed
# Comments, limit/deny/reject, v4-only and v6-only sources, ranges and lists, a v6 rule
# inserted in the middle, and rules hako does not declare itself (interface, out, log, route,
# application profile, destination, source port).
x "ufw limit 2222/tcp comment 'ssh alt'
ufw deny proto udp from 10.0.0.0/8 to any port 6000:6007
ufw reject from fd00::/8 to any port 25 proto tcp
ufw allow from 10.213.0.1
ufw allow 53/udp comment 'dns'
ufw insert 1 deny from 10.9.0.0/16 to any port 22 proto tcp
ufw insert 11 deny from ::/0 to any port 8081 proto tcp
ufw allow proto tcp from any to any port 8010:8020,443:450,22
ufw allow in on eth0 to any port 99
ufw allow out 53
ufw allow log 98/tcp
ufw route allow 95
ufw allow OpenSSH
ufw allow to 10.213.0.2 port 97
ufw allow from 1.2.3.4 port 1234
ufw allow 94/udp comment 'ünïcode'
ufw default reject outgoing" >/dev/null
capture active-mixed
# IPv6 off: rules added afterwards exist for IPv4 only.
x "ufw --force reset && sed -i 's/^IPV6=.*/IPV6=no/' /etc/default/ufw && ufw allow 22/tcp && ufw allow 8080 && ufw --force enable" >/dev/null
capture active-ipv6-off
# Not installed: what a card looks like before `apt install ufw`.
x 'dpkg --purge ufw' >/dev/null 2>&1
capture not-installed
