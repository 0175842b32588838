// Package rootpath carries the shell check that hako's scripts make before
// root works by path in a folder on a host (reads, removes, renames): the
// file task's probes and leftover clean-up, and the guard's save and
// rollback. One copy, so that they all judge a folder alike.
package rootpath

import _ "embed" // for Funcs

// Funcs defines these sh functions (POSIX sh, namei from util-linux):
//
// route DIR: namei walks DIR as the kernel does, through every symlink and
// the folders its target names, listing owner and mode of each. route sets
// _ru to "" when all of them are root's and none is writable by group or
// others (a sticky one may be, except DIR itself): then nobody else can
// change where DIR leads. Else _ru is "OWNER GROUP" of the first entry on
// the way owned by someone else, when one user owns all such entries, or
// "-" (a folder others can write, two users, DIR does not exist, no
// answer). Checking the path DIR resolves to (pwd -P) is not enough: a
// root folder reached through a user's folder is root's, but the user can
// swap the way to it.
//
// rootonly DIR: true when route finds the way to DIR root's alone.
//
// routes: route of each of the _rn folders in _rl (one a line, none with a
// newline in its name), with one namei for all of them: sets _rt1 to
// _rtN to what route sets _ru to. Each entry of namei's answers is judged
// by the same step (route_step) as route's. Only when namei answers every
// folder without an error and with exactly one section each ("f: DIR")
// are its answers used; otherwise (a folder gone, a name with a newline
// that could fake a section) each folder is asked on its own, as route
// does.
//
// They use the variables _ru, _rl, _rn, _rt*, _n, _k, _d, _done, _open,
// _m, _o, _g and _x.
//
//go:embed route.sh
var Funcs string
