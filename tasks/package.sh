# shellcheck shell=sh
# The package task's apply script. The Go side (tasks/package.go) sets,
# quoted, before this text:
#   ACTION   install or remove
#   UPDATE   yes: run apt-get update first (Check found the lists stale)
#   LOCK     seconds the whole script may wait for apt's and dpkg's locks
#   FAILED   the file that marks a failed update (probe.AptUpdateFailed)
# and the package names as the positional parameters.
#
# Every apt-get waits for the locks until one deadline, LOCK seconds after
# the start, so the task waits that long in all and then fails. apt-get
# install and remove wait by themselves (DPkg::Lock::Timeout); apt-get
# update does not wait for the lists' lock, so update retries. apt's
# output goes to stderr: Apply reads it from there.
export DEBIAN_FRONTEND=noninteractive LC_ALL=C # apt's messages are parsed
end=$(($(date +%s) + LOCK))
left() { l=$((end - $(date +%s))); [ "$l" -gt 0 ] || l=0; echo "$l"; }
aptget() { apt-get -q -y -o DPkg::Lock::Timeout="$(left)" "$@"; }

# apt_do ARGS: apt-get ARGS, its output in out. apt refuses all work after
# a dpkg run that was cut short (a Ctrl-C or a lost connection during an
# earlier apply, a power cut): "dpkg was interrupted, you must manually run
# 'dpkg --configure -a'". That is the repair apt names; it finishes what
# dpkg had begun, so it runs once, and apt-get again.
apt_do() {
  out=$(aptget "$@" 2>&1) && return 0
  printf '%s\n' "$out" | grep -q "dpkg was interrupted" || return 1
  fix=$(dpkg --configure -a 2>&1) || { out="$out
$fix"; return 1; }
  out=$(aptget "$@" 2>&1)
}

# update fails the task (exit 100) when a source could not be fetched:
# apt-get update only warns about a source it cannot reach and exits 0,
# which would leave hako installing from lists it claims are fresh and
# saying a name it cannot see there does not exist. Error-Mode=any makes
# apt >= 2.1.16 exit 100 then (older apt ignores the option, so its
# warnings are matched too). After a clean update it touches
# update-success-stamp, as apt's daily job does, since apt leaves no other
# trace of when it last updated; one that failed after fetching leaves
# FAILED, so the next run updates again.
update() {
  while :; do
    if out=$(aptget -o APT::Update::Error-Mode=any update 2>&1); then
      printf '%s\n' "$out" | grep -q '^W: \(Failed to fetch\|Some index files failed\)' || break
    elif printf '%s\n' "$out" | grep -q '^E: Could not get lock'; then
      # nothing fetched: the lists are as they were, no mark
      [ "$(left)" -gt 0 ] || { printf '%s\n' "$out" >&2; exit 100; }
      sleep 1
      continue
    fi
    printf '%s\n' "$out" >&2
    mkdir -p "${FAILED%/*}" && touch "$FAILED"
    exit 100
  done
  mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp
  rm -f "$FAILED"
  updated=yes
}

if [ "$ACTION" = remove ]; then
  apt_do remove -- "$@" && exit 0
  printf '%s\n' "$out" >&2
  exit 1
fi

# install: if apt does not know a name with lists it did not just fetch,
# refresh once and try again.
updated=no
[ "$UPDATE" = yes ] && update
apt_do install --no-install-recommends -- "$@" && exit 0
if [ $updated = no ] && printf '%s' "$out" | grep -q 'Unable to locate package'; then
  update
  apt_do install --no-install-recommends -- "$@" && exit 0
fi
printf '%s\n' "$out" >&2
exit 1
