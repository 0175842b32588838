# shellcheck shell=sh
# The body of every rollback script (see rollbackScript in script.go),
# after a preamble that sets ID, D (the snapshot directory), RESTART and
# REAPPLY (services, space-separated), and after route.sh and way.sh.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
umask 022
mode=${1:-now}
case $mode in
timer | now | run | disarm) ;;
*) echo "usage: sh $D/rollback [now|timer|disarm|run]" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "hako guard: needs root" >&2; exit 1; }
# Outlive the SSH session that may have started us.
trap '' HUP PIPE
[ -d "$D" ] || exit 3
exec 9>>"$D/lock"
flock 9 || exit 1
[ -e "$D/armed" ] || exit 3

syslog() {
	if command -v logger >/dev/null 2>&1; then logger -t hako-guard -- "$ID: $*" 2>/dev/null; fi
	return 0
}
log() {
	printf '%s %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >>"$D/log"
	syslog "$*"
}
# run CMD...: run it; on failure log the command and what it said.
run() {
	out=$("$@" 2>&1) && return 0
	rc=$?
	log "FAILED (exit $rc): $*: $(printf '%s' "$out" | tr '\n' ' ' | cut -c 1-400)"
	return 1
}
# ours PID: is PID the scheduler process of this guard (its $0 is hako-guard-ID)?
ours() {
	[ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF "hako-guard-$ID"
}
# cancel: stop the scheduled rollback, whatever state it is in.
cancel() {
	case $(cat "$D/scheduler" 2>/dev/null) in
	systemd)
		systemctl stop "hako-guard-$ID.timer" "hako-guard-$ID.service" >/dev/null 2>&1
		! systemctl -q is-active "hako-guard-$ID.timer" 2>/dev/null
		;;
	process)
		pid=$(cat "$D/pid" 2>/dev/null) || return 0
		ours "$pid" || return 0
		# It leads its own process group (setsid): the sleep goes with it.
		# (dash's kill takes no --: -PID is a process group.)
		kill -TERM "-$pid" 2>/dev/null
		i=0
		while ours "$pid" && [ $i -lt 50 ]; do sleep 0.02; i=$((i + 1)); done
		if ours "$pid"; then kill -KILL "-$pid" 2>/dev/null; sleep 0.1; fi
		! ours "$pid"
		;;
	esac
}
# same SAVED LIVE: nothing to restore (same type, mode, owner and content).
same() {
	[ -e "$2" ] || [ -L "$2" ] || return 1
	[ "$(stat -c '%f %u %g' -- "$1")" = "$(stat -c '%f %u %g' -- "$2" 2>/dev/null)" ] || return 1
	if [ -L "$1" ]; then
		[ "$(readlink -- "$1")" = "$(readlink -- "$2")" ]
	elif [ -f "$1" ] && command -v cmp >/dev/null 2>&1; then
		cmp -s -- "$1" "$2"
	else
		return 1
	fi
}
# restore SAVED LIVE: a copy next to LIVE renamed over it (a directory is
# replaced whole).
restore() {
	parent=${2%/*}
	[ -n "$parent" ] || parent=/
	[ -d "$parent" ] || run mkdir -p -- "$parent" || return 1
	tmp=$parent/.hako-guard-$ID.tmp
	rm -rf -- "$tmp"
	run cp -a -- "$1" "$tmp" || { rm -rf -- "$tmp"; return 1; }
	if { [ -d "$tmp" ] && [ ! -L "$tmp" ]; } || { [ -d "$2" ] && [ ! -L "$2" ]; }; then
		run rm -rf -- "$2" || { rm -rf -- "$tmp"; return 1; }
	fi
	run mv -fT -- "$tmp" "$2" || { rm -rf -- "$tmp"; return 1; }
}
ufw_running() { iptables -n -L ufw-user-input >/dev/null 2>&1; }
# leftovers LIVE: remove the temp files that atomic writes of LIVE left
# beside it (.BASE.hako-<12 hex digits>, see the hosts package): a write
# whose connection ended before its rename leaves one, and the rollback
# is the last thing of the run to act on the host.
leftovers() {
	for t in "${1%/*}/.${1##*/}.hako-"[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]; do
		if [ -f "$t" ] || [ -L "$t" ]; then
			run rm -f -- "$t" && log "removed $t (a write of the run cut short)" || fail=1
		fi
	done
}

if [ "$mode" = disarm ]; then
	if [ -e "$D/rolledback" ]; then
		cat "$D/log" 2>/dev/null
		exit 4
	fi
	cancel || { echo "hako guard: cannot stop the scheduled rollback of $ID" >&2; exit 1; }
	rm -rf -- "$D" || { echo "hako guard: cannot remove $D" >&2; exit 1; }
	syslog "disarmed: the change was confirmed"
	# Disarm looks for this line: a session whose command was replaced
	# (a ForceCommand, a login shell that runs none) can exit 0 too.
	echo "hako guard: disarmed $ID"
	exit 0
fi

if [ "$mode" = timer ] && [ -e "$D/rolledback" ]; then
	log "timer: already rolled back, nothing to do"
	exit 0
fi
log "rolling back ($mode), armed $(cat "$D/armed")"
fail=0
# When the timer rolls back, or someone by hand (now: the run that armed
# this guard may still be at work from elsewhere), that run changes nothing
# more on the host over its connection: every command hako starts, and
# every SFTP server, first looks for this mark and refuses when it is there
# (hosts.guardCheck); the guard's own commands (disarm, rollback) do not
# look. Left before the run's processes are ended below: what passed its
# check before the mark started before this script did and is ended with
# them, but for one that started in the moment between this script's start
# and the mark. hako's own rollback (run) leaves no mark and ends nothing:
# the run that asked for it knows, and its connection still serves it.
conn=''
if [ "$mode" != run ] && [ -s "$D/conn" ]; then
	conn=$(cat "$D/conn")
	case $conn in
	'' | *[!0-9a-f]*) log "FAILED: $D/conn holds no connection id" && fail=1 conn='' ;;
	*) : >"$D/rolledback-conn.$conn" || { log "FAILED: cannot write $D/rolledback-conn.$conn" && fail=1; } ;;
	esac
fi
# When the timer fires (or someone rolls back by hand), the run that
# armed the guard may still be at work over its connection (a long task, a
# write in flight): what it did after the restore would stand unguarded
# beside the files put back (an sshd restarted on a new port, a firewall
# enabled without the old port, a rules file written over the restored
# one). So its processes end first, all that carry its connection's
# HAKO_CONN (arm.sh saved it): the commands, whatever they left running,
# and its SFTP server. hako's own rollback (run) or disarm, started over
# that connection after this rollback began, waits for its lock and is
# left be (see endrun_left).
if [ "$mode" != run ] && [ -n "$conn" ]; then
	if n=$(endrun "HAKO_CONN=$conn"); then
		[ "$n" = 0 ] || log "ended the $n processes the run still had under way"
	else
		log "FAILED: of the $n processes the run still had under way, some did not end"
		fail=1
	fi
fi
nmconn=
for pf in "$D"/*.path; do
	[ -e "$pf" ] || continue
	n=${pf%.path}
	if ! p=$(cat "$pf") || [ -z "$p" ]; then log "FAILED: cannot read $pf"; fail=1; continue; fi
	# Arm checked the way to p; should someone else be able to change it
	# now, root leaves p alone (see safe) and restores the rest.
	if [ -e "$n.absent" ]; then
		if [ -e "$p" ] || [ -L "$p" ]; then
			if ! safe "$p"; then
				log "FAILED: left $p as it is: $(unsafe)"
				fail=1
			elif run rm -rf -- "$p"; then
				log "removed $p (absent when armed)"
				case $p in /etc/NetworkManager/system-connections/*) nmconn=1 ;; esac
			else fail=1; fi
		fi
	elif [ -e "$n.data" ] || [ -L "$n.data" ]; then
		if ! safe "$p"; then
			log "FAILED: left $p as it is: $(unsafe)"
			fail=1
		elif same "$n.data" "$p"; then
			log "unchanged $p"
		elif restore "$n.data" "$p"; then
			log "restored $p"
			case $p in /etc/NetworkManager/system-connections/*) nmconn=1 ;; esac
		else
			fail=1
		fi
	else
		log "FAILED: the saved copy of $p is missing"
		fail=1
	fi
	if safe "$p"; then leftovers "$p"; fi
done
if [ -f "$D/ufw" ]; then
	want=$(cat "$D/ufw")
	if ! command -v ufw >/dev/null 2>&1; then
		if [ "$want" != absent ]; then log "FAILED: ufw is not installed any more; it was $want"; fail=1; fi
	else
		case $want in
		active)
			if ufw_running; then
				# enable alone would keep the loaded rules
				if run ufw --force enable && run ufw reload; then log "ufw: reloaded the restored rules (active when armed)"; else fail=1; fi
			else
				if run ufw --force enable; then log "ufw: enabled (active when armed)"; else fail=1; fi
			fi
			;;
		*)
			if ufw_running; then
				if run ufw disable; then log "ufw: disabled ($want when armed)"; else fail=1; fi
			fi
			;;
		esac
	fi
fi
# Restored unit files (or an sshd_config that a socket generator reads, as
# on Ubuntu) take effect only after a daemon-reload.
if [ -n "$RESTART" ] && [ -d /run/systemd/system ]; then
	run systemctl daemon-reload || fail=1
fi
for s in $RESTART; do
	if [ -d /run/systemd/system ]; then
		run systemctl restart "$s"
	elif command -v service >/dev/null 2>&1; then
		run service "$s" restart
	else
		run "/etc/init.d/$s" restart
	fi && log "restarted $s" || fail=1
done
# Network services re-read the restored files only when the timer rolls
# back (the host is cut off); through hako's session the network works.
if [ "$mode" = timer ]; then
	for s in $REAPPLY; do
		if [ -d /run/systemd/system ]; then
			systemctl is-active --quiet "$s" || continue
			run systemctl restart "$s"
		else
			service "$s" status >/dev/null 2>&1 || continue
			run service "$s" restart
		fi && log "restarted $s (network)" || fail=1
	done
fi
# NetworkManager holds the profiles it loaded in memory: a restored
# connection file takes effect, when the connection next comes up, only
# once it is loaded again (the timer's restart of NetworkManager does that
# too). reload touches no active connection.
if [ -n "$nmconn" ] && command -v nmcli >/dev/null 2>&1 &&
	[ "$(nmcli -t -f RUNNING general 2>/dev/null)" = running ]; then
	if run nmcli connection reload; then log "NetworkManager: reloaded the connection files"; else fail=1; fi
fi
if [ "$mode" != timer ]; then
	cancel || { log "FAILED: cannot stop the scheduled rollback"; fail=1; }
fi
if [ $fail = 0 ]; then st=ok; else st=incomplete; fi
echo "$st $(date -u '+%Y-%m-%dT%H:%M:%SZ')" >"$D/rolledback"
log "rollback done: $st"
[ $fail = 0 ] || exit 5
exit 0
