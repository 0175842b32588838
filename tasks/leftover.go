package tasks

import (
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	"github.com/hako-dev/hako/hosts"
)

// An atomic write (hosts) uploads to DIR/.BASE.hako-<12 hex digits> and
// renames that over DIR/BASE. When the connection dies in between, the temp
// file stays, holding the new content (maybe a secret) under a name nobody
// looks at. The file task finds such leftovers next to its path and removes
// them, but only where that cannot be turned against root: in a folder that
// it and every folder above it are root's alone, nobody else can swap a
// leftover or a folder for a symlink between the probe and the rm. Elsewhere
// (a home folder) hako leaves them and warns.

// tempSuffixLen is the length of the hex suffix hosts gives temp files.
const tempSuffixLen = 12

// routeFunc defines route DIR, the check to call before root works by
// path in DIR (reads, removes): namei walks DIR as the kernel does,
// through every symlink and the folders its target names, listing owner
// and mode of each. route sets _ru to "" when all of them are root's and
// none is writable by group or others (a sticky one may be, except DIR
// itself): then nobody else can change where DIR leads. Else _ru is
// "OWNER GROUP" of the first entry on the way owned by someone else, when
// one user owns all such entries, or "-" (a folder others can write, two
// users, no answer). Checking the path DIR resolves to (pwd -P) is not
// enough: a root folder reached through a user's folder is root's, but
// the user can swap the way to it.
const routeFunc = `route() { _ru=-; _n=$(namei -l -- "${1:-/}" 2>/dev/null) || return 0; _ru=; _open=
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
`

// rootOnlyFunc defines route and rootonly DIR: true when route finds the
// way to DIR root's alone.
const rootOnlyFunc = routeFunc + `rootonly() { route "$1"; [ -z "$_ru" ]; }
`

// leftoverProbeFunc defines t IDX DIR, which prints "T IDX -" when DIR is
// not a folder, else "T IDX R NAME..." with R 1 when the folder is root's
// alone (rootonly) and the names (base64) of the regular files, not
// symlinks, that are named like hako's temp files. The probe asks once per
// folder, however many files a plan writes there.
const leftoverProbeFunc = `t() { if ! _r=$(cd -P -- "$2" 2>/dev/null && pwd -P); then echo "T $1 -"; return; fi
  if rootonly "$2"; then printf 'T %s 1' "$1"; else printf 'T %s 0' "$1"; fi
  for _f in "$_r"/.*.hako-` + hexGlob + `; do
    if [ -f "$_f" ] && [ ! -L "$_f" ]; then printf ' '; printf '%s' "${_f##*/}" | base64 -w0; fi
  done; echo; }
`

// hexGlob matches tempSuffixLen lowercase hex digits.
const hexGlob = "[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]"

// Leftovers is what a leftover probe learned about a folder.
type Leftovers struct {
	// Dir is the folder asked about.
	Dir string
	// Names are the files in it named like hako's temp files, regular
	// files only: a symlink is never one of hako's.
	Names []string
	// RootOnly: the folder and every folder above it are root's alone.
	RootOnly bool
}

// Of lists the leftover temp files of the file p (full paths), which must
// be in the folder: DIR/.BASE.hako-<12 hex digits>, exactly.
func (lo Leftovers) Of(p string) []string {
	prefix := "." + path.Base(p) + ".hako-"
	var out []string
	for _, n := range lo.Names {
		if sfx, ok := strings.CutPrefix(n, prefix); ok && isTempSuffix(sfx) {
			out = append(out, path.Join(lo.Dir, n))
		}
	}
	return out
}

func isTempSuffix(s string) bool {
	if len(s) != tempSuffixLen {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// parseLeftovers reads the payload of a T answer for the folder dir.
func parseLeftovers(dir, payload string) (Leftovers, error) {
	lo := Leftovers{Dir: dir}
	if payload == "-" {
		return lo, nil
	}
	f := strings.Fields(payload)
	if len(f) == 0 || (f[0] != "0" && f[0] != "1") {
		return lo, fmt.Errorf("unexpected leftover answer %q", payload)
	}
	lo.RootOnly = f[0] == "1"
	for _, b := range f[1:] {
		n, err := base64.StdEncoding.DecodeString(b)
		if err != nil || strings.ContainsRune(string(n), '/') {
			return lo, fmt.Errorf("unexpected leftover answer %q", payload)
		}
		lo.Names = append(lo.Names, string(n))
	}
	return lo, nil
}

// removeLeftovers removes the temp files next to p, by name, after checking
// again that the folder is root's alone; a name that is no longer a regular
// file is left.
func removeLeftovers(ctx context.Context, h hosts.Host, p string, temps []string) error {
	var names []string
	for _, t := range temps {
		names = append(names, hosts.Quote(path.Base(t)))
	}
	dir := path.Dir(p)
	script := rootOnlyFunc + `r=$(cd -P -- ` + hosts.Quote(dir) + ` && pwd -P) || { echo "the folder is gone" >&2; exit 1; }
rootonly ` + hosts.Quote(dir) + ` || { echo "the folder (or one above it) is no longer writable by root alone; leftover temp files left" >&2; exit 1; }
for n in ` + strings.Join(names, " ") + `; do
  if [ -f "$r/$n" ] && [ ! -L "$r/$n" ]; then rm -f -- "$r/$n" || exit; fi
done
`
	res, err := h.Run(ctx, script)
	if err != nil {
		return fmt.Errorf("removing leftover temp files next to %s: %w", p, err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("removing leftover temp files next to %s: exit code %d: %s", p, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}
