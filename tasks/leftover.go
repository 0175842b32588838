package tasks

import (
	"context"
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
