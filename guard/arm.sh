# shellcheck shell=sh
# The arming script (see armScript in script.go). Sourced after a preamble
# that sets the positional parameters to the paths to save and these
# variables, and after route.sh and way.sh:
#   ID D           the guard's id and its snapshot directory, BASE/ID
#   BASE           the folder of all snapshots
#   PRUNE_DAYS     snapshots older than this that will never fire are removed
#   ALLOW_PENDING  non-empty: arm even while another run's rollback waits
#   UFW            non-empty: save the firewall: UFW_FILES (space-separated)
#                  and any other /etc/ufw/*.rules and *.rules6, and whether
#                  ufw is active
#   TIMEOUT_MS     the rollback runs this many milliseconds after arming
#   TIMEOUT_S      the same in seconds, with a fraction, for sleep
#   ROLLBACK       the rollback script, saved as D/rollback
set -u
umask 077
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
# die MESSAGE: Arm shows MESSAGE to the user, after "nothing is armed".
die() { printf 'hako guard: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (become = true)"
for c in flock setsid cp find namei; do command -v $c >/dev/null 2>&1 || die "$c not found"; done
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 && command -v systemctl >/dev/null 2>&1; then
	sched=systemd
else
	sched=process
	for c in nohup sleep; do command -v $c >/dev/null 2>&1 || die "$c not found"; done
fi
{ mkdir -p "$BASE" && chmod 0700 "$BASE"; } || die "cannot create $BASE"
# One run arms at a time: the check for a rollback still pending and the
# arming itself happen under this lock, so two runs never arm at once.
exec 8>>"$BASE.lock" || die "cannot open $BASE.lock"
flock -w 60 8 || die "another run has held the guard lock on this host for a minute"
now=$(date +%s)
# pending DIR: armed, not rolled back, and less than a minute past its
# deadline (later, its timer is gone: a reboot drops it).
pending() {
	[ -f "$1/armed" ] && [ ! -e "$1/rolledback" ] || return 1
	read -r at _ ms <"$1/armed" || return 0
	t=$(date -d "$at" +%s 2>/dev/null) || return 0
	ms=${ms%ms}
	case $ms in '' | *[!0-9]*) return 0 ;; esac
	[ $((t + ms / 1000 + 60)) -ge "$now" ]
}
for old in "$BASE"/*; do
	if [ ! -d "$old" ] || [ -L "$old" ]; then continue; fi
	if pending "$old"; then
		[ -n "$ALLOW_PENDING" ] ||
			die "a rollback armed by another run at $at still waits on this host and would undo this run; let it fire, or cancel it: sudo sh $old/rollback disarm"
	elif [ -n "$(find "$old" -maxdepth 0 -mtime +"$PRUNE_DAYS")" ]; then
		# Done (rolled back) or expired (its timer died) long ago; a
		# rollback still at work holds its lock and is left alone.
		( flock -n 9 && rm -rf -- "$old" ) 9>>"$old/lock"
	fi
done
mkdir "$D" || die "cannot create $D"
ok='' scheduled=''
cleanup() {
	[ -z "$ok" ] || return 0
	if [ -n "$scheduled" ] && [ -f "$D/rollback" ]; then /bin/sh "$D/rollback" disarm >/dev/null 2>&1; fi
	rm -rf -- "$D"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM PIPE
seen='
'
n=0
save() {
	case $seen in *"
$1
"*) return 0 ;; esac
	seen="$seen$1
"
	# The rollback acts by path on $1 as root: only where root alone can
	# change the way to it.
	safe "$1" || die "cannot guard $1: $(unsafe); root saves and restores by path only where root alone can change the way"
	n=$((n + 1))
	e=$D/$(printf '%04d' $n) # restored in this order
	printf '%s\n' "$1" >"$e.path" || die "cannot write $e.path"
	if [ -e "$1" ] || [ -L "$1" ]; then
		cp -a -- "$1" "$e.data" || die "cannot save $1"
	else
		: >"$e.absent" || die "cannot write $e.absent"
	fi
}
for p in "$@"; do save "$p"; done
if [ -n "$UFW" ]; then
	if command -v ufw >/dev/null 2>&1; then
		for f in $UFW_FILES; do save "$f"; done
		for f in /etc/ufw/*.rules /etc/ufw/*.rules6; do
			if [ -e "$f" ] || [ -L "$f" ]; then save "$f"; fi
		done
		# ufw status says active when its chains are loaded; it asks iptables so.
		iptables -n -L ufw-user-input >/dev/null 2>&1
		case $? in
		0) st=active ;;
		1) st=inactive ;;
		*) if ufw status 2>/dev/null | grep -q '^Status: active'; then st=active; else st=inactive; fi ;;
		esac
	else
		st=absent
	fi
	echo "$st" >"$D/ufw" || die "cannot write $D/ufw"
fi
echo "$sched" >"$D/scheduler" || die "cannot write $D/scheduler"
# The connection this command came over (see the hosts package): the
# timer's rollback ends its processes before it restores (rollback.sh).
case ${HAKO_CONN-} in
'' | *[!0-9a-f]*) ;;
*) echo "$HAKO_CONN" >"$D/conn" || die "cannot write $D/conn" ;;
esac
printf '%s' "$ROLLBACK" >"$D/rollback" || die "cannot write $D/rollback"
date -u "+%Y-%m-%dT%H:%M:%SZ timeout ${TIMEOUT_MS}ms" >"$D/armed" || die "cannot write $D/armed"
case $sched in
systemd)
	scheduled=1
	systemd-run --quiet --collect --unit="hako-guard-$ID" --description="hako guard $ID: roll back unless confirmed" \
		--on-active="${TIMEOUT_MS}ms" --timer-property=AccuracySec=1s --timer-property=RemainAfterElapse=no \
		/bin/sh "$D/rollback" timer || die "systemd-run failed"
	echo "armed systemd"
	;;
process)
	scheduled=1
	# Without HAKO_RUN and HAKO_CONN: hako's sweep of a cancelled run must
	# not end the rollback timer, nor the rollback its own.
	# shellcheck disable=SC2016 # $1 and $2 are the inner shell's
	setsid nohup env -u HAKO_RUN -u HAKO_CONN /bin/sh -c 'echo $$ >"$1/pid.new" && mv -f "$1/pid.new" "$1/pid" && sleep "$2" && /bin/sh "$1/rollback" timer' \
		"hako-guard-$ID" "$D" "$TIMEOUT_S" </dev/null >/dev/null 2>&1 8>&- &
	i=0
	while [ ! -s "$D/pid" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || die "the rollback process did not start"
		sleep 0.02
	done
	echo "armed process $(cat "$D/pid")"
	;;
esac
ok=1
