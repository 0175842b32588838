package guard

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/rootpath"
)

// The host side is POSIX sh plus coreutils and util-linux (flock, setsid),
// which every Debian, Ubuntu and Raspberry Pi OS has.

const scriptEnv = `export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
`

// ufwFiles are saved (or recorded absent) whenever Snapshot.UFW is set and
// ufw is installed; other /etc/ufw/*.rules and *.rules6 files are saved too
// if they exist.
var ufwFiles = []string{
	"/etc/default/ufw", "/etc/ufw/ufw.conf",
	"/etc/ufw/user.rules", "/etc/ufw/user6.rules",
	"/etc/ufw/before.rules", "/etc/ufw/before6.rules",
	"/etc/ufw/after.rules", "/etc/ufw/after6.rules",
}

// wayFuncs define, on top of rootpath.Funcs (route, rootonly):
//
// safe P: true when root may work on P by path: the way to P's folder is
// root's alone, or, when that folder is missing (mkdir -p makes it), the
// way to the nearest folder above it that exists. Then nobody else can
// point the folder elsewhere, between the check and the cp, rm or mv or
// ever: a user who could would make root save, replace or delete a file of
// that name wherever she likes. It leaves that folder in _w.
//
// unsafe: after safe failed, says where and who, for an error or the log.
var wayFuncs = rootpath.Funcs + `safe() { _w=${1%/*}
  while [ -n "$_w" ] && [ ! -e "$_w" ] && [ ! -L "$_w" ]; do _w=${_w%/*}; done
  _w=${_w:-/}; rootonly "$_w"; }
unsafe() { case $_ru in
  -) echo "the folder $_w, or one on the way to it, can be changed by someone other than root (or namei cannot tell)" ;;
  *) echo "the folder $_w, or one on the way to it, can be changed by ${_ru% *}, not root alone" ;;
  esac; }
`

// heredocEnd ends the rollback script inside the arming script; the script
// never contains it.
const heredocEnd = "HAKO_GUARD_ROLLBACK_EOF"

// armScript saves the snapshot into BaseDir/id, writes the rollback script
// there and schedules it: one remote command. Any failure removes the
// directory (and cancels the schedule if it was made) and exits non-zero.
// The last line it prints is "armed systemd" or "armed process PID".
func armScript(id string, paths []string, s Snapshot, timeout time.Duration) string {
	d := BaseDir + "/" + id
	var b strings.Builder
	b.WriteString("set -u\numask 077\n" + scriptEnv)
	fmt.Fprintf(&b, "ID=%s\nD=%s\n", hosts.Quote(id), hosts.Quote(d))
	if s.AllowPending {
		b.WriteString("ALLOW_PENDING=1\n")
	} else {
		b.WriteString("ALLOW_PENDING=\n")
	}
	b.WriteString(wayFuncs)
	b.WriteString(`die() { printf 'hako guard: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (become = true)"
for c in flock setsid cp find namei; do command -v $c >/dev/null 2>&1 || die "$c not found"; done
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 && command -v systemctl >/dev/null 2>&1; then
	sched=systemd
else
	sched=process
	for c in nohup sleep; do command -v $c >/dev/null 2>&1 || die "$c not found"; done
fi
mkdir -p ` + BaseDir + ` && chmod 0700 ` + BaseDir + ` || die "cannot create ` + BaseDir + `"
# One run arms at a time: the check for a rollback still pending and the
# arming itself happen under this lock, so two runs never arm at once.
exec 8>>` + BaseDir + `.lock || die "cannot open ` + BaseDir + `.lock"
flock -w 60 8 || die "another run has held the guard lock on this host for a minute; nothing is armed"
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
for old in ` + BaseDir + `/*; do
	[ -d "$old" ] && [ ! -L "$old" ] || continue
	if pending "$old"; then
		[ -n "$ALLOW_PENDING" ] ||
			die "a rollback armed by another run (guard ${old##*/}, armed $at) still waits on this host: it would undo this run; nothing is armed. Let it fire, or cancel it: sudo sh $old/rollback disarm"
	elif [ -n "$(find "$old" -maxdepth 0 -mtime +` + strconv.Itoa(PruneAfterDays) + `)" ]; then
		# Done (rolled back) or expired (its timer died) long ago; a
		# rollback still at work holds its lock and is left alone.
		( flock -n 9 && rm -rf -- "$old" ) 9>>"$old/lock"
	fi
done
mkdir "$D" || die "cannot create $D"
ok= scheduled=
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
`)
	for _, p := range paths {
		b.WriteString("save " + hosts.Quote(p) + "\n")
	}
	if s.UFW {
		b.WriteString("if command -v ufw >/dev/null 2>&1; then\n\tfor f in")
		for _, f := range ufwFiles {
			b.WriteString(" " + f)
		}
		b.WriteString(`; do save "$f"; done
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
`)
	}
	b.WriteString(`echo "$sched" >"$D/scheduler" || die "cannot write $D/scheduler"
cat >"$D/rollback" <<'` + heredocEnd + `' || die "cannot write $D/rollback"
` + rollbackScript(id, s.Restart, s.Reapply) + heredocEnd + "\n")
	ms := timeout.Milliseconds()
	fmt.Fprintf(&b, `date -u '+%%Y-%%m-%%dT%%H:%%M:%%SZ timeout %dms' >"$D/armed" || die "cannot write $D/armed"
case $sched in
systemd)
	scheduled=1
	systemd-run --quiet --collect --unit="hako-guard-$ID" --description="hako guard $ID: roll back unless confirmed" \
		--on-active=%dms --timer-property=AccuracySec=1s --timer-property=RemainAfterElapse=no \
		/bin/sh "$D/rollback" timer || die "systemd-run failed"
	echo "armed systemd"
	;;
process)
	scheduled=1
	setsid nohup /bin/sh -c 'echo $$ >"$1/pid.new" && mv -f "$1/pid.new" "$1/pid" && sleep "$2" && /bin/sh "$1/rollback" timer' \
		"hako-guard-$ID" "$D" %d.%03d </dev/null >/dev/null 2>&1 8>&- &
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
`, ms, ms, ms/1000, ms%1000)
	return b.String()
}

// runScript runs the rollback script of guard id in mode "disarm" or "now",
// or removes whatever a failed Arm left ("abort").
// "now" runs it in a session of its own (setsid), so that it completes even
// if the SSH connection drops, and prints what it logged.
func runScript(id, mode string) string {
	d := hosts.Quote(BaseDir + "/" + id)
	var b strings.Builder
	b.WriteString(scriptEnv)
	fmt.Fprintf(&b, "D=%s\n", d)
	if mode != "abort" {
		fmt.Fprintf(&b, "[ -f \"$D/rollback\" ] || exit %d\n", exitNotArmed)
	}
	switch mode {
	case "disarm":
		b.WriteString(`exec /bin/sh "$D/rollback" disarm` + "\n")
	case "abort":
		// After a failed Arm: whatever state it reached, take it back.
		b.WriteString(`/bin/sh "$D/rollback" disarm >/dev/null 2>&1
rm -rf -- "$D"
`)
	case "now":
		b.WriteString(`n=$(stat -c %s "$D/log" 2>/dev/null || echo 0)
setsid -w /bin/sh "$D/rollback" now </dev/null >/dev/null 2>&1
rc=$?
tail -c +$((n + 1)) "$D/log" 2>/dev/null
exit $rc
`)
	default:
		panic("guard: unknown mode " + mode)
	}
	return b.String()
}

// rollbackScript is the script kept in the snapshot directory. Modes:
//
//	timer   run by the scheduler: roll back unless already rolled back
//	now     roll back (again), then cancel the scheduled run
//	disarm  cancel the scheduled run and delete the snapshot, unless
//	        already rolled back (then print the log, exit 4)
//
// All modes take a lock on the snapshot, so a disarm and a rollback never
// overlap. Exit status: 0 done, 1 error, 2 usage, 3 not armed (the snapshot
// was deleted meanwhile), 4 already rolled back (disarm), 5 rollback done
// but some steps failed (see the log).
func rollbackScript(id string, restart, reapply []string) string {
	d := BaseDir + "/" + id
	return fmt.Sprintf(`#!/bin/sh
# hako guard %[1]s: puts back what was saved here before a change, unless
# hako confirmed the change in time. Run by hand: sudo sh %[2]s/rollback
ID=%[3]s
D=%[4]s
RESTART=%[5]s
REAPPLY=%[6]s
`, id, d, hosts.Quote(id), hosts.Quote(d), hosts.Quote(strings.Join(restart, " ")), hosts.Quote(strings.Join(reapply, " "))) + wayFuncs + rollbackBody
}

const rollbackBody = scriptEnv + `umask 022
mode=${1:-now}
case $mode in
timer | now | disarm) ;;
*) echo "usage: sh $D/rollback [now|timer|disarm]" >&2; exit 2 ;;
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

if [ "$mode" = disarm ]; then
	if [ -e "$D/rolledback" ]; then
		cat "$D/log" 2>/dev/null
		exit 4
	fi
	cancel || { echo "hako guard: cannot stop the scheduled rollback of $ID" >&2; exit 1; }
	rm -rf -- "$D" || { echo "hako guard: cannot remove $D" >&2; exit 1; }
	syslog "disarmed: the change was confirmed"
	exit 0
fi

if [ "$mode" = timer ] && [ -e "$D/rolledback" ]; then
	log "timer: already rolled back, nothing to do"
	exit 0
fi
log "rolling back ($mode), armed $(cat "$D/armed")"
fail=0
for pf in "$D"/*.path; do
	[ -e "$pf" ] || continue
	n=${pf%.path}
	p=$(cat "$pf") && [ -n "$p" ] || { log "FAILED: cannot read $pf"; fail=1; continue; }
	# Arm checked the way to p; should someone else be able to change it
	# now, root leaves p alone (see safe) and restores the rest.
	if [ -e "$n.absent" ]; then
		if [ -e "$p" ] || [ -L "$p" ]; then
			if ! safe "$p"; then
				log "FAILED: left $p as it is: $(unsafe)"
				fail=1
			elif run rm -rf -- "$p"; then log "removed $p (absent when armed)"; else fail=1; fi
		fi
	elif [ -e "$n.data" ] || [ -L "$n.data" ]; then
		if ! safe "$p"; then
			log "FAILED: left $p as it is: $(unsafe)"
			fail=1
		elif same "$n.data" "$p"; then
			log "unchanged $p"
		elif restore "$n.data" "$p"; then
			log "restored $p"
		else
			fail=1
		fi
	else
		log "FAILED: the saved copy of $p is missing"
		fail=1
	fi
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
if [ "$mode" = now ]; then
	cancel || { log "FAILED: cannot stop the scheduled rollback"; fail=1; }
fi
if [ $fail = 0 ]; then st=ok; else st=incomplete; fi
echo "$st $(date -u '+%Y-%m-%dT%H:%M:%SZ')" >"$D/rolledback"
log "rollback done: $st"
[ $fail = 0 ] || exit 5
exit 0
`
