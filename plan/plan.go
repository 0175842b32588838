package plan

import (
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/tasks"
	"github.com/hashicorp/hcl/v2"
)

// Plan is an evaluated plan: for each host, its connection settings, its
// tasks in run order and its handlers.
type Plan struct {
	Dir   string
	Hosts []*Host
}

// Host is one declared host with everything that runs on it.
type Host struct {
	Name string
	Conn hosts.Config // connection settings from the plan; run flags are added later
	// ConnFrom says where each connection setting came from (plan,
	// ssh_config, default), for -v.
	ConnFrom []hosts.Origin
	// Bootstrap is how to reach a freshly flashed host (nil: no bootstrap
	// block): tried only when Conn's port refuses the connection.
	Bootstrap *hosts.Config
	// BootstrapFrom is ConnFrom for the bootstrap connection.
	BootstrapFrom []hosts.Origin
	Steps         []*Step
	Handlers      map[string]*Step // by handler name; notified handlers run in declaration order
	Order         []string         // handler names in declaration order
	Decl          hcl.Range
	// pending holds what WithFacts needs when some tasks or handlers
	// read host.facts (nil when none do).
	pending *pending
}

// Step is a task as it runs on one host.
type Step struct {
	Task   tasks.Task
	Kind   tasks.Kind
	Notify []string // handler names
	Decl   hcl.Range
}

// AlwaysRuns reports whether the step runs on every apply (an unguarded
// command), which exempts it from the idempotency re-check.
func (s *Step) AlwaysRuns() bool {
	return s.Kind.AlwaysRuns != nil && s.Kind.AlwaysRuns(s.Task)
}
