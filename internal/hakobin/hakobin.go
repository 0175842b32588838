// Package hakobin builds the hako binary for tests that drive it like a
// user would.
package hakobin

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// Build compiles cmd/hako into dir and returns the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "hako")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/hako-dev/hako/cmd/hako").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building hako: %v\n%s", err, out)
	}
	return bin, nil
}
