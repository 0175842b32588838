# shellcheck shell=sh
# guard_pending INDEX BASEDIR: a record "guard" of "ID ARMED_EPOCH
# TIMEOUT_MS NOW_EPOCH" for every guard under BASEDIR armed and not rolled
# back (Disarm deletes a guard's directory). Only root can read them. It
# runs inside hako's probe script, which defines hako_rec (see probe.sh).
guard_pending() {
  hako_rec "$1" scanned ""
  for _d in "$2"/*/; do
    if [ ! -f "$_d/armed" ] || [ -e "$_d/rolledback" ]; then continue; fi
    read -r _at _ _ms <"$_d/armed" || continue
    hako_rec "$1" guard "$(basename "$_d") $(date -d "$_at" +%s 2>/dev/null || echo -) ${_ms%ms} $(date +%s)"
  done 2>/dev/null
}
