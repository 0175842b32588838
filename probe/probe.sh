# shellcheck shell=sh
# _ru comes from route (rootpath), hako_max_read and hako_cr (a carriage
# return, which editors and tools mangle in a file) from the script Go builds.
# shellcheck disable=SC2154
# The functions that answer hako's probes (see probe.go). The script Go
# builds sets hako_max_read, includes rootpath's route and rootonly, these
# functions, then one call per request: FUNCTION INDEX ARGS...
# Every answer is records, one a line: "INDEX FIELD VALUE", where VALUE is
# ":" and the text itself when it is one line, else the text in base64.
# Every function prints at least one record, so a request with none was
# not answered.

hako_nl='
'
hako_tab='	'
# hako_euid is the prober's effective uid (id -u), read by the shell itself
# from its /proc/self/status: no process. Every function that asks whether
# it runs as root reads it; set here, never taken from the environment.
hako_euid=
while read -r _k _r _e _x; do [ "$_k" != Uid: ] || { hako_euid=$_e; break; }; done 2>/dev/null </proc/self/status
[ -n "$hako_euid" ] || hako_euid=$(id -u)
# hako_rec INDEX FIELD VALUE prints one record. Most values are one line
# (a stat, an exit status): printf alone, no base64 process for each.
hako_rec() {
  case $3 in
  *"$hako_nl"*) printf '%s %s ' "$1" "$2"; printf '%s' "$3" | base64 -w0; echo ;;
  *) printf '%s %s :%s\n' "$1" "$2" "$3" ;;
  esac
}
# hako_recb INDEX FIELD B64 prints a record whose value is base64 already.
hako_recb() { printf '%s %s %s\n' "$1" "$2" "$3"; }

# hako_statrec INDEX FIELD PATH: the lstat of PATH, tab-separated, or a
# "missing" field.
hako_statrec() {
  if _s=$(stat -c '%F	%a	%U	%G	%u	%g	%s' -- "$3" 2>/dev/null); then hako_rec "$1" "$2" "$_s"; else hako_rec "$1" "$2-missing" ""; fi
}

# hako_each COMMAND...: COMMAND with the paths of $_l (one a line, each
# ending in a newline) after its arguments, its errors discarded. Run in a
# command substitution, it replaces that subshell: one process, where a
# pipe into xargs takes four. A list too long for one command line (the
# kernel takes 128 KiB of arguments at the least) goes through xargs.
hako_each() {
  if [ "${#_l}" -lt 65536 ]; then
    IFS=$hako_nl; set -f
    # shellcheck disable=SC2086 # one path a line, split on purpose
    exec "$@" $_l 2>/dev/null
  fi
  printf '%s' "$_l" | xargs -d "$hako_nl" -r "$@" 2>/dev/null
}

# hako_stat INDEX PATH
hako_stat() { hako_statrec "$1" stat "$2"; }

# hako_stats INDEX PATH ...: hako_stat of every PATH with one stat for
# all. stat prints a line for each path it could stat, in order, ending
# in a tab and the path (%n); a path with no line is missing. A path with
# a newline would break the lines, one with a tab could end another's
# line: they are asked on their own.
hako_stats() {
  _l=; _ix=
  while [ $# -ge 2 ]; do
    case $2 in
    *"$hako_nl"* | *"$hako_tab"*) hako_stat "$1" "$2" ;;
    *) _l=$_l$2$hako_nl; _ix="$_ix $1"; eval "hako_sp$1=\$2" ;;
    esac
    shift 2
  done
  [ -n "$_ix" ] || return 0
  set -- stat -c "%F$hako_tab%a$hako_tab%U$hako_tab%G$hako_tab%u$hako_tab%g$hako_tab%s$hako_tab%n" --
  _o=$(hako_each "$@")
  _x=$IFS; IFS=' '; set -f
  # shellcheck disable=SC2086 # split on purpose: indexes, then lines
  set -- $_ix; IFS=$hako_nl
  for _s in $_o; do
    while [ $# -gt 0 ]; do
      eval "_p=\$hako_sp$1"
      case $_s in *"$hako_tab$_p") break ;; esac
      hako_rec "$1" stat-missing ""; shift
    done
    [ $# -gt 0 ] || break
    hako_rec "$1" stat "${_s%"$hako_tab$_p"}"; shift
  done
  IFS=$_x; set +f
  for _i do hako_rec "$_i" stat-missing ""; done
}

# hako_ra PATH sets _a to the command prefix that reads PATH: nothing when the
# folders on its way are root's alone (route), else setpriv to the one
# user who owns folders or links there, or to nobody under a folder
# anyone may write. Whoever can change a folder on the way could swap the
# file, or the folder, for a link to /etc/shadow after the [ ! -L ] test,
# and root would show its lines in the plan's diff.
hako_ra() {
  _a=; [ "$hako_euid" = 0 ] || return 0; route "${1%/*}"
  case $_ru in
  '') ;;
  -) _a="setpriv --reuid=65534 --regid=65534 --clear-groups --" ;;
  *) _a="setpriv --reuid=${_ru% *} --regid=${_ru#* } --clear-groups --" ;;
  esac
}

# hako_file INDEX PATH [EXPECT]: the sha256 of a regular file that is not
# a link (sha256), its content (data) when that is no larger than
# hako_max_read and its hash is not EXPECT, else "unreadable". The file
# is read as the user hako_ra names.
hako_file() {
  if [ -f "$2" ] && [ ! -L "$2" ] && [ -r "$2" ]; then
    hako_ra "$2"
    # shellcheck disable=SC2086 # $_a is a command prefix, split on purpose
    if _o=$($_a sha256sum -- "$2" 2>/dev/null); then
      _o=${_o#\\}; hako_fileout "$1" "$2" "${3:-}" "${_o%% *}"
    else hako_rec "$1" unreadable ""; fi
  else hako_rec "$1" unreadable ""; fi
}

# hako_fileout INDEX PATH EXPECT SHA256: the records of a file that $_a
# reads, with its hash known.
# shellcheck disable=SC2086 # $_a is a command prefix, split on purpose
hako_fileout() {
  hako_rec "$1" sha256 "$4"
  [ "$4" != "$3" ] || return 0
  [ "$(stat -c %s -- "$2")" -le "$hako_max_read" ] || return 0
  if _o=$($_a base64 -w0 -- "$2" 2>/dev/null); then hako_recb "$1" data "$_o"; else hako_rec "$1" unreadable ""; fi
}

# hako_files INDEX PATH EXPECT ...: hako_file of every PATH (EXPECT "-":
# none) with a constant number of processes: one namei for the folders
# on the way (routes), one sha256sum for the files root may read and one
# for each other reader, and a read only of the files whose hash is not
# the expected one. Go sends the paths in folder order, so that a folder
# is walked once. Names with a newline, a carriage return or a backslash
# (which sha256sum escapes) are asked on their own. Per file state is in variables named
# by the request's index (hako_p3, hako_h3, ...).
hako_files() {
  # Nothing is taken from the environment: a hako_uid or reader list
  # inherited from it would make root read what a user's folder holds.
  hako_uid=$hako_euid
  # shellcheck disable=SC2034 # the lists are read through eval
  hako_gl0='' hako_gi0=''
  _rl=; _rn=0; _ix=; _ld=
  while [ $# -ge 3 ]; do
    case $2 in
    *"$hako_nl"* | *\\* | *"$hako_cr"*) hako_file "$1" "$2" "$3" ;;
    *)
      if [ -f "$2" ] && [ ! -L "$2" ] && [ -r "$2" ]; then
        _d=${2%/*}; _d=${_d:-/}
        if [ "$_rn" = 0 ] || [ "$_d" != "$_ld" ]; then _rn=$((_rn + 1)); _rl=$_rl$_d$hako_nl; _ld=$_d; fi
        eval "hako_p$1=\$2 hako_e$1=\$3 hako_dn$1=$_rn hako_h$1="; _ix="$_ix $1"
      else hako_rec "$1" unreadable ""; fi ;;
    esac
    shift 3
  done
  [ -n "$_ix" ] || return 0
  [ "$hako_uid" != 0 ] || hako_routes
  # Group the files by reader: 0 is root (or the prober, when it is not
  # root); hako_rk1... are the others ("-" or "OWNER GROUP", as route).
  _nk=0
  for _i in $_ix; do
    _g=0
    if [ "$hako_uid" = 0 ]; then
      eval "_k=\$hako_dn$_i"; eval "_ru=\$_rt$_k"
      if [ -n "$_ru" ]; then
        _g=1; while [ "$_g" -le "$_nk" ]; do eval "[ \"\$hako_rk$_g\" != \"\$_ru\" ]" || break; _g=$((_g + 1)); done
        [ "$_g" -le "$_nk" ] || { _nk=$_g; eval "hako_rk$_g=\$_ru hako_gl$_g= hako_gi$_g="; }
      fi
    fi
    eval "hako_g$_i=$_g hako_gl$_g=\${hako_gl$_g:-}\$hako_p$_i\$hako_nl hako_gi$_g=\"\${hako_gi$_g:-} $_i\""
  done
  _g=0
  while [ "$_g" -le "$_nk" ]; do
    hako_reader "$_g"
    eval "_l=\${hako_gl$_g:-} _gi=\${hako_gi$_g:-}"
    # shellcheck disable=SC2086 # $_a is a command prefix, split on purpose
    set -- $_a sha256sum --
    if [ -n "$_l" ] && _o=$(hako_each "$@"); then
      _x=$IFS; IFS=' '; set -f
      # shellcheck disable=SC2086 # split on purpose: indexes, then lines
      set -- $_gi; IFS=$hako_nl
      for _s in $_o; do eval "hako_h$1=\${_s%%' '*}"; shift; done
      IFS=$_x; set +f
    fi
    _g=$((_g + 1))
  done
  # The files to read whole (their hash is not the expected one) are
  # sized by one stat for all, as root as hako_fileout's own stat is;
  # each is then read by its group's reader.
  _l=; _rd=
  for _i in $_ix; do
    eval "_p=\$hako_p$_i _e=\$hako_e$_i _h=\${hako_h$_i:-} _g=\$hako_g$_i"
    if [ -z "$_h" ]; then hako_reader "$_g"; hako_file "$_i" "$_p" "$_e"; continue; fi
    hako_rec "$_i" sha256 "$_h"
    [ "$_h" != "$_e" ] || continue
    _l=$_l$_p$hako_nl; _rd="$_rd $_i"; eval "hako_sz$_i="
  done
  [ -n "$_rd" ] || return 0
  set -- stat -c "%s$hako_tab%n" --
  _o=$(hako_each "$@")
  # stat prints a line for each file it could stat, in order, the size
  # before the first tab and the path after it: a file gone since its
  # hash has no line, and is not read (as hako_fileout).
  _x=$IFS; IFS=' '; set -f
  # shellcheck disable=SC2086 # split on purpose: indexes, then lines
  set -- $_rd; IFS=$hako_nl
  for _s in $_o; do
    while [ $# -gt 0 ]; do
      eval "_p=\$hako_p$1"
      [ "${_s#*"$hako_tab"}" != "$_p" ] || break
      shift
    done
    [ $# -gt 0 ] || break
    eval "hako_sz$1=\${_s%%\"\$hako_tab\"*}"; shift
  done
  IFS=$_x; set +f
  for _i in $_rd; do
    eval "_p=\$hako_p$_i _sz=\${hako_sz$_i:-} _g=\$hako_g$_i"
    if [ -z "$_sz" ] || [ "$_sz" -gt "$hako_max_read" ]; then continue; fi
    hako_reader "$_g"
    # shellcheck disable=SC2086 # $_a is a command prefix, split on purpose
    if _o=$($_a base64 -w0 -- "$_p" 2>/dev/null); then hako_recb "$_i" data "$_o"; else hako_rec "$_i" unreadable ""; fi
  done
}

# hako_routes: routes of the $_rn folders in $_rl (rootpath's, which sets
# _rt1...), with one namei for a list asked twice: hako_files and
# hako_leftovers_in ask for the same folders (those of the plan's files).
# The answers are kept in variables of their own, which no other caller
# of routes overwrites.
hako_rr_l=
hako_routes() {
  if [ -n "$hako_rr_l" ] && [ "$hako_rr_l" = "$_rl" ]; then
    _k=1; while [ "$_k" -le "$_rn" ]; do eval "_rt$_k=\$hako_rr$_k"; _k=$((_k + 1)); done
    return 0
  fi
  routes
  _k=1; while [ "$_k" -le "$_rn" ]; do eval "hako_rr$_k=\$_rt$_k"; _k=$((_k + 1)); done
  hako_rr_l=$_rl
}

# hako_reader GROUP sets _a to the command prefix that reads as the
# group's reader (see hako_ra).
hako_reader() {
  _a=; [ "$1" != 0 ] || return 0
  eval "_ru=\$hako_rk$1"
  case $_ru in
  -) _a="setpriv --reuid=65534 --regid=65534 --clear-groups --" ;;
  *) _a="setpriv --reuid=${_ru% *} --regid=${_ru#* } --clear-groups --" ;;
  esac
}

# hako_exit INDEX COMMAND: the exit status of a read-only command, run in
# a subshell with no input, so that a broken command only fails its own
# probe.
hako_exit() { ( eval "$2" ) </dev/null >/dev/null 2>&1; hako_rec "$1" exit "$?"; }

# hako_output INDEX COMMAND: its exit status and standard output (errors
# are discarded).
hako_output() {
  _o=$( (eval "$2") </dev/null 2>/dev/null; echo "=$?")
  hako_rec "$1" exit "${_o##*=}"; hako_rec "$1" stdout "${_o%=*}"
}

# hako_leftovers INDEX DIR: "nodir" when DIR is not a folder, else
# rootonly (1 when the folder and those above it are root's alone) and a
# name record for each regular file, not symlink, named like hako's temp
# files (.BASE.hako- and 12 hex digits).
hako_leftovers() {
  if ! _r=$(cd -P -- "$2" 2>/dev/null && pwd -P); then hako_rec "$1" nodir ""; return 0; fi
  if rootonly "$2"; then hako_rec "$1" rootonly 1; else hako_rec "$1" rootonly 0; fi
  hako_tempnames "$1" "$_r"
}
hako_tempnames() {
  for _f in "$2"/.*.hako-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]; do
    if [ -f "$_f" ] && [ ! -L "$_f" ]; then hako_rec "$1" name "${_f##*/}"; fi
  done
}

# hako_leftovers_in INDEX DIR ...: hako_leftovers of every DIR, with one
# namei for all (routes) and one subshell that visits them (cd -P sets
# PWD to the folder's real path). A name with a newline is asked on its
# own.
hako_leftovers_in() {
  _rl=; _rn=0; _ix=
  while [ $# -ge 2 ]; do
    case $2 in
    *"$hako_nl"*) hako_leftovers "$1" "$2" ;;
    *)
      if [ -d "$2" ]; then _rn=$((_rn + 1)); _rl=$_rl$2$hako_nl; eval "hako_ld$1=\$2 hako_dn$1=$_rn"; _ix="$_ix $1"
      else hako_rec "$1" nodir ""; fi ;;
    esac
    shift 2
  done
  [ -n "$_ix" ] || return 0
  hako_routes
  (
    for _i in $_ix; do
      eval "_d=\$hako_ld$_i _k=\$hako_dn$_i"; eval "_ru=\$_rt$_k"
      if ! cd -P -- "$_d" 2>/dev/null; then hako_rec "$_i" nodir ""; continue; fi
      if [ -z "$_ru" ]; then hako_rec "$_i" rootonly 1; else hako_rec "$_i" rootonly 0; fi
      hako_tempnames "$_i" "$PWD"
    done
  )
}

# hako_realdirs INDEX DIR ...: the real path of each DIR (cd -P resolves
# every symlink on the way, as a write in the folder would, and sets PWD
# to the result), or, for a DIR that does not exist, that of the nearest
# folder above it that does, followed by the missing rest ("unknown"
# when that is not known). No process: the shell's own cd, and back to
# where it was after.
hako_realdirs() {
  _w=$PWD
  while [ $# -ge 2 ]; do
    _p=$2; _s=
    while ! cd -P -- "$_p" 2>/dev/null; do
      case $_p in
      /*/*) _s=/${_p##*/}$_s; _p=${_p%/*} ;;
      /?*) _s=$_p$_s; _p=/ ;;
      *) _p=; break ;;
      esac
    done
    # The first missing name must be missing indeed: a dangling link,
    # a file or a folder cd may not enter leaves where it leads unknown.
    _f=${_s#/}; _f=${_f%%/*}
    if [ -n "$_f" ] && { [ -e "$_p/$_f" ] || [ -L "$_p/$_f" ]; }; then _p=; fi
    case $_p in
    '') hako_rec "$1" unknown "" ;;
    *) _r=${PWD%/}$_s; hako_rec "$1" real "${_r:-/}" ;;
    esac
    shift 2
  done
  cd -- "$_w" 2>/dev/null || cd /
}

# hako_endpoint INDEX: how the host sees this connection (sshd sets
# SSH_CONNECTION; hosts passes it through sudo as HAKO_SSH_CONNECTION),
# which is more than the client knows behind NAT.
hako_endpoint() { hako_rec "$1" conn "${HAKO_SSH_CONNECTION:-$SSH_CONNECTION}"; }

# hako_login INDEX: the prober's uid and the user hako logged in as (sudo
# sets SUDO_USER).
hako_login() { hako_rec "$1" uid "$hako_euid"; hako_rec "$1" name "${SUDO_USER:-$(id -un)}"; }

# hako_account INDEX NAME: the account NAME (empty: the login user): its
# passwd entry, groups, primary group, and the stat of ~/.ssh and
# ~/.ssh/authorized_keys with the latter's content, or "absent".
# authorized_keys is read as the user, as sshd reads it: the user can swap
# it for a link to any file between a check and a read, and root would
# then show that file's lines in the plan or copy them into the new
# authorized_keys; keys-unreadable says the user cannot read it. A prober
# that is not root reads it as itself.
#
# The uid, gid and home come from the passwd entry (getent's line is what
# id and cut read), by the shell; one stat for both paths. An account
# asked twice in one script (by name, and as the login user, "") is read
# once: the second answer is the first's records again, under its index.
hako_account() {
  _ai=$1; _an=$2; [ -n "$_an" ] || _an=${SUDO_USER:-$(id -un)}
  _k=1
  while [ "$_k" -le "$hako_nac" ]; do
    eval "_n=\$hako_acn$_k"
    if [ "$_n" = "$_an" ]; then
      eval "_o=\$hako_acr$_k"
      _x=$IFS; IFS=$hako_nl; set -f
      for _l in $_o; do printf '%s %s\n' "$_ai" "$_l"; done
      IFS=$_x; set +f
      return 0
    fi
    _k=$((_k + 1))
  done
  _am=; _amok=1
  hako_arec name "$_an"
  if _pw=$(getent passwd -- "$_an"); then hako_account_read; else hako_arec absent ""; fi
  [ "$_amok" = 1 ] || return 0
  hako_nac=$((hako_nac + 1)); eval "hako_acn$hako_nac=\$_an hako_acr$hako_nac=\$_am"
}
hako_nac=0
# hako_arec FIELD VALUE: hako_rec for the account asked (_ai), kept for a
# second ask (_am) when the record is one line as it is.
hako_arec() {
  hako_rec "$_ai" "$1" "$2"
  case $2 in *"$hako_nl"*) _amok=0 ;; *) _am=$_am$1' :'$2$hako_nl ;; esac
}
hako_account_read() {
  hako_arec passwd "$_pw"
  hako_arec groups "$(id -nG -- "$_an")"
  hako_arec primary "$(id -gn -- "$_an")"
  # NAME:PASSWORD:UID:GID:GECOS:HOME:SHELL
  _r=${_pw#*:*:}; _au=${_r%%:*}; _r=${_r#*:}; _ag=${_r%%:*}
  _r=${_pw#*:*:*:*:*:}; _ad="${_r%%:*}/.ssh"; _ak=$_ad/authorized_keys
  case $_ad in
  *"$hako_nl"* | *"$hako_tab"*) _s1=; _s2=
    _s1=$(stat -c '%F	%a	%U	%G	%u	%g	%s' -- "$_ad" 2>/dev/null) || _s1=
    _s2=$(stat -c '%F	%a	%U	%G	%u	%g	%s' -- "$_ak" 2>/dev/null) || _s2= ;;
  *)
    # Each line ends in a tab and its path: a path with no line is missing.
    _o=$(stat -c "%F$hako_tab%a$hako_tab%U$hako_tab%G$hako_tab%u$hako_tab%g$hako_tab%s$hako_tab%n" -- "$_ad" "$_ak" 2>/dev/null)
    _s1=; _s2=
    _x=$IFS; IFS=$hako_nl; set -f
    for _l in $_o; do
      case $_l in
      *"$hako_tab$_ak") _s2=${_l%"$hako_tab$_ak"} ;;
      *"$hako_tab$_ad") _s1=${_l%"$hako_tab$_ad"} ;;
      esac
    done
    IFS=$_x; set +f ;;
  esac
  if [ -n "$_s1" ]; then hako_arec sshdir "$_s1"; else hako_arec sshdir-missing ""; fi
  if [ -n "$_s2" ]; then hako_arec keyfile "$_s2"; else hako_arec keyfile-missing ""; fi
  if [ -f "$_ak" ] && [ ! -L "$_ak" ]; then
    _a=; [ "$hako_euid" != 0 ] || _a="setpriv --reuid=$_au --regid=$_ag --init-groups --"
    # shellcheck disable=SC2086 # $_a is a command prefix, split on purpose
    if _o=$($_a base64 -w0 -- "$_ak" 2>/dev/null); then
      hako_recb "$_ai" keys "$_o"; _am=${_am}keys' '$_o$hako_nl
    else hako_arec keys-unreadable ""; fi
  fi
}

# hako_unit INDEX UNIT: PID 1's name, is-enabled and is-active of the
# unit, and a socket unit's listen addresses. PID 1's name is read by the
# shell; without a systemctl command the answers are empty, as its failed
# start would leave them, with no process started to learn that.
hako_unit() {
  _init=; { read -r _init </proc/1/comm; } 2>/dev/null
  hako_rec "$1" init "$_init"
  if ! command -v systemctl >/dev/null 2>&1; then hako_rec "$1" enabled ""; hako_rec "$1" active ""; return 0; fi
  hako_rec "$1" enabled "$(systemctl is-enabled -- "$2" 2>/dev/null)"
  hako_rec "$1" active "$(systemctl is-active -- "$2" 2>/dev/null)"
  case $2 in
  *.socket)
    systemctl show -p Listen -- "$2" 2>/dev/null | while IFS= read -r _l; do
      hako_rec "$1" listen "${_l#Listen=}"
    done ;;
  esac
}

# hako_packages INDEX APT NAME...: dpkg-query's status of every name (an
# unknown name only makes it complain on stderr). With APT 1, and only if
# some names are not installed: the times that date the last apt-get
# update, "NOW STAMP LISTS HAVE FAILED" (mtimes, - when missing; HAVE is 1
# when Packages lists exist; FAILED is hako's mark of a failed update,
# probe.AptUpdateFailed), and apt-cache showpkg of those names, without
# the indented lines (reverse depends, file details) nobody needs.
hako_packages() {
  _i=$1; _apt=$2; shift 2
  # shellcheck disable=SC2016 # ${Package} is dpkg-query's, not the shell's
  _out=$(dpkg-query -W -f='${Package}\t${db:Status-Status}\n' -- "$@" 2>/dev/null)
  hako_rec "$_i" dpkg "$_out"
  [ "$_apt" = 1 ] || return 0
  _nl='
'
  _tab=$(printf '\t')
  for _p do
    shift
    case "$_nl$_out$_nl" in *"$_nl${_p%%:*}${_tab}installed$_nl"*) ;; *) set -- "$@" "$_p" ;; esac
  done
  [ $# -gt 0 ] || return 0
  _have=0
  for _f in /var/lib/apt/lists/*_Packages*; do [ -e "$_f" ] && _have=1; break; done
  hako_rec "$_i" lists "$(date +%s) $(hako_mtime /var/lib/apt/periodic/update-success-stamp) $(hako_mtime /var/lib/apt/lists) $_have $(hako_mtime /var/lib/hako/apt-update-failed)"
  hako_rec "$_i" showpkg "$(apt-cache showpkg -- "$@" 2>/dev/null | grep -v '^ ')"
}
hako_mtime() { stat -c %Y -- "$1" 2>/dev/null || echo -; }

# hako_netdevices INDEX: whether nmcli is there, and NetworkManager's
# devices with their states ("DEVICE:STATE", colons in names escaped).
hako_netdevices() {
  if ! command -v nmcli >/dev/null 2>&1; then hako_rec "$1" nmcli 0; return 0; fi
  hako_rec "$1" nmcli 1
  nmcli -t -f DEVICE,STATE device 2>/dev/null | while IFS= read -r _l; do hako_rec "$1" device "$_l"; done
}

# hako_configs INDEX PATTERNS: the content of every regular file that the
# space-separated shell patterns match (path, then data or unreadable).
# For system configuration in root's folders (sshd, sudo), read as root.
hako_configs() {
  hako_rec "$1" configs ""
  # shellcheck disable=SC2086 # the patterns are split and expanded on purpose
  for _f in $2; do
    [ -f "$_f" ] || continue
    hako_rec "$1" path "$_f"
    if [ -r "$_f" ]; then hako_recb "$1" data "$(base64 -w0 <"$_f")"; else hako_rec "$1" unreadable ""; fi
  done
}

# hako_facts INDEX: what a plan reads as host.facts (HostFacts). Each line
# of os-release (os), parsed in Go; the architecture (arch, uname -m);
# PID 1's name (init); the network daemons running (running: one pass over
# /proc/*/comm with the shell's read, which is pidof without a process;
# comm is cut at 15 characters, so systemd-networkd is systemd-network);
# the interfaces ifupdown configures when it is installed (iface); whether
# ssh.socket and ssh.service are active (sshd-socket, sshd-service: one
# systemctl, only when systemd is PID 1; else sshd-pid when sshd's pid
# file is there); whether ufw is installed (ufw); where NetworkManager
# runs, its connection profiles (nmcon: one line of nmcli each, parsed in
# Go). Only uname, that systemctl and nmcli start a process: the rest are
# the shell's own file tests and reads.
hako_facts() {
  _f=/etc/os-release; [ -e "$_f" ] || _f=/usr/lib/os-release
  if [ -r "$_f" ]; then
    while IFS= read -r _l || [ -n "$_l" ]; do hako_rec "$1" os "$_l"; done <"$_f"
  fi
  hako_rec "$1" arch "$(uname -m)"
  _init=; { read -r _init </proc/1/comm; } 2>/dev/null
  hako_rec "$1" init "$_init"
  _nm=; _nd=; _dh=
  for _p in /proc/[0-9]*/comm; do
    { read -r _c <"$_p"; } 2>/dev/null || continue
    case $_c in
    NetworkManager) _nm=1 ;;
    systemd-network) _nd=1 ;;
    dhcpcd) _dh=1 ;;
    esac
  done
  [ -z "$_nm" ] || hako_rec "$1" running NetworkManager
  [ -z "$_nd" ] || hako_rec "$1" running systemd-networkd
  [ -z "$_dh" ] || hako_rec "$1" running dhcpcd
  if [ -n "$_nm" ] && command -v nmcli >/dev/null 2>&1; then
    # Read into a variable and split here: a pipe into `while read` would
    # start a subshell, one process more.
    _o=$(nmcli -t -f NAME,UUID,TYPE,DEVICE,STATE,FILENAME connection show 2>/dev/null)
    _x=$IFS; IFS=$hako_nl; set -f
    for _l in $_o; do hako_rec "$1" nmcon "$_l"; done
    IFS=$_x; set +f
  fi
  if [ -x /sbin/ifup ] || [ -x /usr/sbin/ifup ]; then
    for _f in /etc/network/interfaces /etc/network/interfaces.d/*; do
      { [ -f "$_f" ] && [ -r "$_f" ]; } || continue
      while read -r _w _n _rest || [ -n "$_w" ]; do
        [ "$_w" != iface ] || hako_rec "$1" iface "$_n"
      done <"$_f"
    done
  fi
  if [ "$_init" = systemd ]; then
    { read -r _s; read -r _v; } <<EOS
$(systemctl is-active ssh.socket ssh.service 2>/dev/null)
EOS
    hako_rec "$1" sshd-socket "$_s"; hako_rec "$1" sshd-service "$_v"
  elif [ -f /run/sshd.pid ]; then hako_rec "$1" sshd-pid ""
  fi
  if [ -x /usr/sbin/ufw ] || [ -x /sbin/ufw ]; then hako_rec "$1" ufw 1; else hako_rec "$1" ufw 0; fi
}
