# shellcheck shell=sh
# nm_endpoint INDEX: the device that holds the address hako's SSH
# connection reached (dev, "" when none does or it is not known), and what
# NetworkManager says of that device: its type and the uuid and name of
# the connection active on it. It runs inside hako's probe script, which
# defines hako_rec (see probe/probe.sh).
nm_endpoint() {
  _i=$1
  # "client_ip client_port server_ip server_port"; the server's address
  # is the third word.
  # shellcheck disable=SC2086 # split into words on purpose
  set -- ${HAKO_SSH_CONNECTION:-$SSH_CONNECTION}
  _a=${3:-}
  _a=${_a%%%*}
  _d=
  if [ -n "$_a" ]; then
    _d=$(ip -o addr show 2>/dev/null | while read -r _ _dev _ _addr _; do
      if [ "${_addr%/*}" = "$_a" ]; then echo "${_dev%@*}"; break; fi
    done)
  fi
  hako_rec "$_i" dev "$_d"
  if [ -z "$_d" ] || ! command -v nmcli >/dev/null 2>&1; then return 0; fi
  hako_rec "$_i" type "$(nmcli -g GENERAL.TYPE device show "$_d" 2>/dev/null)"
  hako_rec "$_i" uuid "$(nmcli -g GENERAL.CON-UUID device show "$_d" 2>/dev/null)"
  hako_rec "$_i" id "$(nmcli -g GENERAL.CONNECTION device show "$_d" 2>/dev/null)"
}
