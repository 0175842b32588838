# shellcheck shell=sh
# hako_nl comes from the probe script (probe/probe.sh).
# shellcheck disable=SC2154
# ufw_kernel INDEX: what `ufw status verbose` asks the system beside ufw's
# files, without starting ufw (Python, a tenth of a second or more):
# whether the kernel has IPv6 (ipv6 1 or 0); whether the ufw command is
# there (installed 1 or 0, found in the PATH hako runs ufw with); the
# forwarding switches it shows as routed (sysctl "PATH VALUE", - when
# missing); and which of ufw's user chains the kernel holds, from one
# `iptables -S` (exit4, chains4), and when it holds ufw-user-input and has
# IPv6, one `ip6tables -S` (exit6, chains6). ufw runs the binaries in
# /usr/sbin and asks for each chain in turn; a chain is there when -S
# prints its -N line. At most two processes; the rest is the shell's own.
ufw_kernel() {
  if [ -e /proc/sys/net/ipv6 ]; then hako_rec "$1" ipv6 1; else hako_rec "$1" ipv6 0; fi
  _uk_p=$PATH; PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
  if command -v ufw >/dev/null 2>&1; then _uk_i=1; else _uk_i=0; fi
  PATH=$_uk_p
  hako_rec "$1" installed "$_uk_i"
  [ "$_uk_i" = 1 ] || return 0
  for _uk_f in ipv4/ip_forward ipv6/conf/default/forwarding ipv6/conf/all/forwarding; do
    _uk_v=-; { read -r _uk_v </proc/sys/net/$_uk_f; } 2>/dev/null
    hako_rec "$1" sysctl "$_uk_f $_uk_v"
  done
  ufw_chains "$1" 4 /usr/sbin/iptables ufw-user
  case " $_uk_c " in
  *" input "*) [ ! -e /proc/sys/net/ipv6 ] || ufw_chains "$1" 6 /usr/sbin/ip6tables ufw6-user ;;
  esac
}
# ufw_chains INDEX FAMILY COMMAND PREFIX: COMMAND -S's exit status and
# which of PREFIX-input, -output and -forward it lists (also in _uk_c).
ufw_chains() {
  _uk_o=$(exec "$3" -S 2>/dev/null)
  hako_rec "$1" "exit$2" "$?"
  _uk_c=
  for _uk_d in input output forward; do
    case "$hako_nl$_uk_o$hako_nl" in
    *"$hako_nl-N $4-$_uk_d$hako_nl"*) _uk_c="$_uk_c $_uk_d" ;;
    esac
  done
  hako_rec "$1" "chains$2" "${_uk_c# }"
}
