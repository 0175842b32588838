package main

import (
	"context"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/run"
)

// armSafetyNet arms the on-host rollback a port move or a -confirm run needs.
func armSafetyNet(ctx context.Context, h hosts.Host, r run.NetRequest) (run.SafetyNet, error) {
	return guard.Arm(ctx, h, guard.Snapshot{Paths: r.Paths, UFW: r.UFW, Restart: r.Restart, Reapply: r.Reapply,
		AllowPending: r.AllowPending}, r.Timeout)
}
