# shellcheck shell=sh
# Sourced after internal/rootpath's route.sh into the arming script and into
# every rollback script; script.go says what safe and unsafe do.
safe() { _w=${1%/*}
  while [ -n "$_w" ] && [ ! -e "$_w" ] && [ ! -L "$_w" ]; do _w=${_w%/*}; done
  _w=${_w:-/}; rootonly "$_w"; }
# _ru is set by route, which rootonly ran in safe.
# shellcheck disable=SC2154
unsafe() { case $_ru in
  -) echo "the folder $_w, or one on the way to it, can be changed by someone other than root (or namei cannot tell)" ;;
  *) echo "the folder $_w, or one on the way to it, can be changed by ${_ru% *}, not root alone" ;;
  esac; }
