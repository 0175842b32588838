package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// Sensitive content replacing a file too large to read shows neither the
// host file's size and hash nor the plan content's.
func TestFileSensitiveUnreadShowsNoSizeOrHash(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	big := strings.Repeat("0123456789abcdef\n", MaxRead/17+1)
	write(t, p, big, 0o600)
	content := "TOKEN=hunter2\nMORE=x\n"
	task := decode(t, "file", map[string]cty.Value{"path": str(p), "content": str(content).Mark(sensitiveMark{})})
	c := check(t, local(), task)
	d := c.Content.Diff()
	if d != "(sensitive content changed: host content not read → 2 lines)\n" {
		t.Errorf("diff: %q", d)
	}
	for _, leak := range []string{fmt.Sprint(len(big)), fmt.Sprint(len(content)), sha256Prefix(big), sha256Prefix(content), "sha256", "bytes"} {
		if strings.Contains(d, leak) {
			t.Errorf("diff shows %q: %q", leak, d)
		}
	}
}

func sha256Prefix(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}
