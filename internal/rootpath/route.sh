# shellcheck shell=sh
# Sourced into hako's scripts on hosts; see rootpath.go for what these do.
# _rl and _rn are set by the caller of routes.
# shellcheck disable=SC2154
route() { _ru=-; _n=$(namei -l -- "${1:-/}" 2>/dev/null) || return 0; _ru=; _open=
  while read -r _m _o _g _x; do
    route_step || return 0
  done <<HAKO_ROUTE_END
$_n
HAKO_ROUTE_END
  [ -z "$_open" ] || _ru=-; }
route_step() {
  case $_m in d* | l*) ;; *) return 0 ;; esac
  if [ "$_o" != root ]; then
    case $_ru in '') _ru="$_o $_g" ;; "$_o "*) ;; *) _ru=-; return 1 ;; esac
  fi
  case $_m in
  l*) ;;
  d????w???? | d???????w?) _open=1; case $_m in *[tT]) ;; *) _ru=-; return 1 ;; esac ;;
  *) _open= ;;
  esac; }
rootonly() { route "$1"; [ -z "$_ru" ]; }
routes() { _k=0
  if _n=$(printf '%s' "$_rl" | xargs -d '
' -r namei -l -- 2>/dev/null); then
    # Not a here-document: dash forks a writer for one larger than a pipe.
    _x=$IFS; IFS='
'; set -f
    for _d in $_n; do
      IFS=' '
      # shellcheck disable=SC2086 # split into fields on purpose, as read would
      set -- $_d; _m=${1:-}; _o=${2:-}; _g=${3:-}
      if [ "$_m" = f: ]; then
        [ "$_k" = 0 ] || routes_end
        _k=$((_k + 1)); _ru=; _open=; _done=
      elif [ -z "$_done" ]; then
        route_step || _done=1
      fi
    done
    IFS=$_x; set +f
    [ "$_k" = 0 ] || routes_end
    [ "$_k" != "$_rn" ] || return 0
  fi
  _k=0; _x=$IFS; IFS='
'; set -f
  # shellcheck disable=SC2086 # split on newlines on purpose
  set -- $_rl; IFS=$_x; set +f
  for _d do route "$_d"; _k=$((_k + 1)); eval "_rt$_k=\$_ru"; done; }
routes_end() { [ -z "$_open" ] || _ru=-; eval "_rt$_k=\$_ru"; }
