package templates

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
)

// The built-in templates: the files a Raspberry Pi home server needs
// (dhcpcd, sshd hardening, PPPoE peer, secrets, interfaces stanza and the
// policy-routing ip-up/ip-down scripts). A plan refers to them as
// "templates/NAME"; a file of that name in the plan directory overrides one.
//
//go:embed builtin/*.tftpl
var builtin embed.FS

const builtinPrefix = "templates/"

// Builtin returns the source of a built-in template by its plan path
// ("templates/ppp-peer.tftpl").
func Builtin(planPath string) ([]byte, bool) {
	name, ok := strings.CutPrefix(path.Clean(planPath), builtinPrefix)
	if !ok || strings.Contains(name, "/") {
		return nil, false
	}
	b, err := builtin.ReadFile("builtin/" + name)
	return b, err == nil
}

// BuiltinNames lists the built-in templates as plans refer to them.
func BuiltinNames() []string {
	entries, _ := fs.ReadDir(builtin, "builtin")
	var out []string
	for _, e := range entries {
		out = append(out, builtinPrefix+e.Name())
	}
	sort.Strings(out)
	return out
}

// readTemplate reads a template from the plan directory, or else a
// built-in one of that name.
func readTemplate(baseDir, p string) ([]byte, string, error) {
	src, err := readPlanFile(baseDir, p)
	if err == nil {
		return src, resolve(baseDir, p), nil
	}
	if b, ok := Builtin(p); ok {
		return b, "(built-in) " + p, nil
	}
	if errors.Is(err, errNotFound) {
		return nil, "", errors.New(err.Error() + builtinHint(p))
	}
	return nil, "", err
}

// builtinHint ends the message about a template that is neither in the
// plan directory nor built in: the built-in name it is likely a typo of,
// or else the built-in names, written once as templates/{a, b}.tftpl so
// that the message stays short as the library grows.
func builtinHint(p string) string {
	best, bestDist := "", 4 // more than 3 edits away is not a typo
	for _, n := range BuiltinNames() {
		if d := levenshtein.Distance(p, n, nil); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean the built-in %q?", best)
	}
	var short []string
	for _, n := range BuiltinNames() {
		short = append(short, strings.TrimSuffix(strings.TrimPrefix(n, builtinPrefix), ".tftpl"))
	}
	return "; built-in templates: " + builtinPrefix + "{" + strings.Join(short, ", ") + "}.tftpl"
}
