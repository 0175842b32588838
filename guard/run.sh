# shellcheck shell=sh
# Runs the rollback script of a guard (see runScript in script.go), after a
# preamble that sets D (the snapshot directory), MODE (disarm, now or abort)
# and NOT_ARMED (the exit status when D holds no rollback script).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
case $MODE in
abort)
	# After a failed Arm: whatever state it reached, take it back.
	/bin/sh "$D/rollback" disarm >/dev/null 2>&1
	rm -rf -- "$D"
	;;
disarm)
	[ -f "$D/rollback" ] || exit "$NOT_ARMED"
	exec /bin/sh "$D/rollback" disarm
	;;
now)
	[ -f "$D/rollback" ] || exit "$NOT_ARMED"
	# hako's own rollback (mode run: no mark, nothing of the run ended;
	# see rollback.sh). In a session of its own, the rollback completes
	# even if the SSH connection drops or the run is cancelled (without
	# HAKO_RUN and HAKO_CONN, hako's sweep of a cancelled run and the
	# timer's rollback leave it be); what it logged is printed after it.
	n=$(stat -c %s "$D/log" 2>/dev/null || echo 0)
	setsid -w env -u HAKO_RUN -u HAKO_CONN /bin/sh "$D/rollback" run </dev/null >/dev/null 2>&1
	rc=$?
	tail -c +$((n + 1)) "$D/log" 2>/dev/null
	exit $rc
	;;
*)
	echo "hako guard: unknown mode $MODE" >&2
	exit 2
	;;
esac
