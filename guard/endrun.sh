# shellcheck shell=sh
# endrun ENTRY: ends every process whose environment holds ENTRY, such as
# HAKO_CONN=<id> (see the hosts package: every command and SFTP server a
# connection of hako starts carries it; what the guard starts to outlive
# the run drops it). TERM, again each tenth of a second to whatever the
# ones ended started meanwhile, then KILL what is still there after 5 s.
# Prints how many processes it found; returns 1 when some are left.
endrun() {
	_found=0 _seen=''
	_i=0
	while _p=$(endrun_left "$1") && [ -n "$_p" ]; do
		for _q in $_p; do
			case " $_seen " in *" $_q "*) ;; *) _seen="$_seen $_q" _found=$((_found + 1)) ;; esac
		done
		if [ $_i -lt 50 ]; then
			# shellcheck disable=SC2086 # one word per process
			kill -TERM $_p 2>/dev/null
		elif [ $_i -lt 60 ]; then
			# shellcheck disable=SC2086
			kill -KILL $_p 2>/dev/null
		else
			echo "$_found"
			return 1
		fi
		_i=$((_i + 1))
		sleep 0.1
	done
	echo "$_found"
	return 0
}
# endrun_left ENTRY: the processes whose environment holds ENTRY and that
# started before this shell did. A zombie's environ reads empty: what has
# ended is not counted. Those started later are left be: hako's own
# rollback or disarm over the run's connection, which wait for the lock
# the rollback holds and must get their answer.
endrun_left() {
	_t0=$(endrun_start $$)
	# shellcheck disable=SC2013 # /proc/PID/environ: no spaces
	for _e in $(grep -lzxF -- "$1" /proc/[0-9]*/environ 2>/dev/null); do
		_q=${_e#/proc/}
		_q=${_q%/environ}
		_t=$(endrun_start "$_q") || continue
		[ "$_t" -gt "$_t0" ] || echo "$_q"
	done
}
# endrun_start PID: when PID started (clock ticks since boot, the 22nd
# field of its stat; the 2nd, its name, may hold spaces and parentheses).
endrun_start() {
	_s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	_s=${_s##*) }
	# shellcheck disable=SC2086 # the fields after the name
	set -- $_s
	[ $# -ge 20 ] || return 1
	eval "echo \${20}"
}
