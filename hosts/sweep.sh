# shellcheck shell=sh
# Ends what is left of a cancelled run (see sweep in run.go), after a
# preamble that sets RUN, the run's HAKO_RUN value. Every process started
# for that run carries HAKO_RUN=$RUN in its environment, wherever it went
# in the process tree; processes hako starts to outlive a run (the guard's
# rollback timer and rollbacks) drop it. TERM first, as the run's own
# cancel does; KILL what is still there after 10 s. Exit 0 when none is
# left, 1 when some could not be ended.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
left() {
	# A zombie's environ reads empty: what has ended is not counted.
	grep -lzx -- "HAKO_RUN=$RUN" /proc/[0-9]*/environ 2>/dev/null | sed -e 's|^/proc/||' -e 's|/environ$||'
}
pids=$(left)
[ -n "$pids" ] || exit 0
# shellcheck disable=SC2086 # one word per process
kill -TERM $pids 2>/dev/null
i=0
while [ $i -lt 100 ]; do
	sleep 0.1
	pids=$(left)
	[ -n "$pids" ] || exit 0
	i=$((i + 1))
done
# shellcheck disable=SC2086
kill -KILL $pids 2>/dev/null
sleep 0.2
[ -z "$(left)" ]
