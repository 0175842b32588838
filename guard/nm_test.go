package guard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/internal/testhost"
)

// A rollback through the session restores a NetworkManager connection
// file and has NetworkManager load it again: the profile it holds, which
// the connection comes up with next, is the restored one, not the one
// loaded after arming.
func TestRollbackNowReloadsNetworkManager(t *testing.T) {
	testhost.Require(t)
	t.Parallel()
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	c := dial(t, h)
	ctx := context.Background()
	const keyfile = "/etc/NetworkManager/system-connections/preconfigured.nmconnection"
	const show = "nmcli -g ipv4.dns connection show preconfigured"
	before := run(t, c, show)
	a, err := guard.Arm(ctx, c, guard.Snapshot{Paths: []string{keyfile}}, window)
	if err != nil {
		t.Fatal(err)
	}
	// What a task does: a new keyfile, loaded (not brought up).
	run(t, c, `sed -i '/^\[ipv4\]/a dns=192.0.2.53;' `+keyfile+` && nmcli connection load `+keyfile)
	if got := run(t, c, show); !strings.Contains(got, "192.0.2.53") {
		t.Fatalf("NetworkManager did not take the changed file: %q", got)
	}
	if err := a.RollbackNow(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := run(t, c, show); got != before {
		t.Errorf("NetworkManager holds %q after the rollback, want %q as before\nguard log:\n%s", got, before, h.Exec(t, "cat "+a.Dir()+"/log"))
	}
	if log := h.Exec(t, "cat "+a.Dir()+"/log"); !strings.Contains(log, "NetworkManager: reloaded the connection files") {
		t.Errorf("guard log:\n%s", log)
	}
}
