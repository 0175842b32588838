// Package pihome starts a real test host shaped as examples/pi-home-server
// expects an older card (the dhcpcd path) to be, for the end-to-end tests
// and the benchmarks that apply the example.
package pihome

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// The PPPoE login the variables give; the tests look for the password in
// every output, where it must never appear.
const (
	PPPoEUser     = "user@isp.example"
	PPPoEPassword = "isp-Pa55-Secret"
	// ExtraPackage is the package the variables add to package.base: it
	// is in the host's local apt repository, not installed.
	ExtraPackage = "hako-demo-pkg"
)

// Start starts a systemd test host with sshd on the hardened port (2222)
// and a local apt repository holding ExtraPackage, and writes the
// example's variables for it (with PPPoE, no session started: the test
// kernel has no PPP) to a file whose path it returns.
func Start(t testing.TB) (*testhost.Host, string) {
	t.Helper()
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd, SSHPort: 2222})
	h.LocalAptRepo(t, ExtraPackage)
	varFile := filepath.Join(t.TempDir(), "test.hcl")
	vars := fmt.Sprintf(`address        = %q
identity_file  = %q
known_hosts    = %q
ssh_port       = %d
pppoe_user     = %q
pppoe_password = %q
pppoe_connect  = false
extra_packages = [%q]
`, h.Addr, h.KeyFile, h.KnownHostsFile(t), h.Port, PPPoEUser, PPPoEPassword, ExtraPackage)
	if err := os.WriteFile(varFile, []byte(vars), 0o600); err != nil {
		t.Fatal(err)
	}
	return h, varFile
}
