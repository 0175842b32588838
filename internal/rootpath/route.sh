# shellcheck shell=sh
# Sourced into hako's scripts on hosts; see rootpath.go for what these do.
route() { _ru=-; _n=$(namei -l -- "${1:-/}" 2>/dev/null) || return 0; _ru=; _open=
  while read -r _m _o _g _x; do
    case $_m in d* | l*) ;; *) continue ;; esac
    if [ "$_o" != root ]; then
      case $_ru in '') _ru="$_o $_g" ;; "$_o "*) ;; *) _ru=-; return 0 ;; esac
    fi
    case $_m in
    l*) ;;
    d????w???? | d???????w?) _open=1; case $_m in *[tT]) ;; *) _ru=-; return 0 ;; esac ;;
    *) _open= ;;
    esac
  done <<HAKO_ROUTE_END
$_n
HAKO_ROUTE_END
  [ -z "$_open" ] || _ru=-; }
rootonly() { route "$1"; [ -z "$_ru" ]; }
