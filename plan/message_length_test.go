package plan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The messages about a value or a variables file in the plan directory
// stay under 300 characters with a long variable name and a plan directory
// as deep as a user's (the test's own, much longer, temporary directory is
// measured as such a one), and still say to use -var-file.
func TestMisplacedValueMessagesAreShort(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"value in a plan file":  {"main.hcl": planMain + "\nwireguard_private_key = \"x\"\n"},
		"variables file":        {"main.hcl": planMain, "secrets.hcl": "wireguard_private_key = \"x\"\n"},
		"broken variables file": {"main.hcl": planMain, "secrets.hcl": "wireguard_private_key = \"x\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "plans", "pi-home-server")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for f, text := range files {
				writeFile(t, filepath.Join(dir, f), text)
			}
			_, diags := Load(dir)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			for _, d := range diags {
				msg := strings.ReplaceAll(d.Summary+": "+d.Detail, dir, "/home/alice/plans/pi-home-server")
				if len(msg) > 300 {
					t.Errorf("%d characters: %s", len(msg), msg)
				}
			}
			if out := render(diags); !strings.Contains(out, "-var-file") {
				t.Errorf("no -var-file in:\n%s", out)
			}
		})
	}
}
