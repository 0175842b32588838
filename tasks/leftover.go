package tasks

import (
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/rootpath"
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

// leftoverProbeFunc defines t IDX DIR, which prints "T IDX -" when DIR is
// not a folder, else "T IDX R NAME..." with R 1 when the folder is root's
// alone (rootonly, in rootpath.Funcs) and the names (base64) of the regular files, not
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
	script := rootpath.Funcs + `r=$(cd -P -- ` + hosts.Quote(dir) + ` && pwd -P) || { echo "the folder is gone" >&2; exit 1; }
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
