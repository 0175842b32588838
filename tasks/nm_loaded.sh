# shellcheck shell=sh
# hako_nl comes from the probe script (probe/probe.sh).
# shellcheck disable=SC2154
# nm_loaded INDEX PATH [INDEX PATH]...: for each keyfile PATH, the profile
# NetworkManager holds in memory from it. "unknown" when nmcli is missing
# or NetworkManager does not answer; "none" when it holds no profile read
# from PATH; else its uuid and the fields hako compares ("field:value"
# records, nmcli -t's lines, secrets never asked). Two nmcli processes
# for every keyfile of the run: the list of profiles with their files,
# then one `connection show` of all the profiles found. It runs inside
# hako's probe script, which defines hako_rec and hako_nl (see
# probe/probe.sh).
nm_loaded() {
  if ! command -v nmcli >/dev/null 2>&1 || ! _nl_list=$(nmcli -t -f UUID,FILENAME connection show 2>/dev/null); then
    while [ $# -ge 2 ]; do hako_rec "$1" unknown ""; shift 2; done
    return 0
  fi
  _nl_ids=; _nl_ix=
  while [ $# -ge 2 ]; do
    _nl_u=
    _nl_x=$IFS; IFS=$hako_nl; set -f
    # "UUID:FILENAME": a uuid has no ':', and the file is the rest of the
    # line (nmcli escapes ':' and '\' in it; hako's paths have neither).
    for _nl_r in $_nl_list; do
      case $_nl_r in *":$2") _nl_u=${_nl_r%%:*}; break ;; esac
    done
    IFS=$_nl_x; set +f
    case $_nl_u in
    '') hako_rec "$1" none "" ;;
    *[!0-9A-Fa-f-]*) hako_rec "$1" unknown "" ;;
    *) hako_rec "$1" uuid "$_nl_u"; _nl_ids="$_nl_ids uuid $_nl_u"; _nl_ix="$_nl_ix $1" ;;
    esac
    shift 2
  done
  [ -n "$_nl_ids" ] || return 0
  # shellcheck disable=SC2086 # "uuid U uuid U ...": split on purpose
  _nl_o=$(nmcli -t -f connection.uuid,connection.id,connection.type,connection.interface-name,connection.autoconnect,connection.autoconnect-priority,802-11-wireless.ssid,802-11-wireless-security.key-mgmt,pppoe.parent,pppoe.username,ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.dns connection show $_nl_ids 2>/dev/null)
  # The profiles come in the order asked, each starting with its uuid
  # (empty lines between them are dropped by the split).
  _nl_x=$IFS; IFS=' '; set -f
  # shellcheck disable=SC2086 # the indexes, split on purpose
  set -- $_nl_ix
  IFS=$hako_nl; _nl_first=1
  for _nl_r in $_nl_o; do
    case $_nl_r in
    connection.uuid:*) [ -n "$_nl_first" ] || shift; _nl_first= ;;
    esac
    [ $# -gt 0 ] || break
    hako_rec "$1" f "$_nl_r"
  done
  IFS=$_nl_x; set +f
}
