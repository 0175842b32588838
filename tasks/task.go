// Package tasks holds hako's task kinds. Each kind is one file: its schema,
// how it decodes, how it checks the host and how it applies a change.
//
// The contract: Check never changes the host and works only from the State
// gathered for it in one batched round trip, so plan and apply see the same
// Change; Apply converges in one call or returns an error.
package tasks

import (
	"context"
	"sort"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hashicorp/hcl/v2"
)

// Address names a task in output: "kind.name", e.g. "file.motd".
type Address struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

func (a Address) String() string { return a.Kind + "." + a.Name }

// Task is one declared task, evaluated for one host.
type Task interface {
	Address() Address
	// Probes lists what Check needs to know about the host.
	Probes() []Probe
	// Check compares the gathered state with the plan. It never touches the
	// host. env is what it needs to know of the run. What the change would
	// risk (cutting hako's connection) goes into the Change's Refusals, and
	// the Change is what would be done if the run overrides them: the run's
	// policy decides which stand.
	Check(s *State, env Env) (*Change, error)
	// Apply carries out a change that Check returned.
	Apply(ctx context.Context, h hosts.Host, c *Change) error
}

// Kind is a task kind: its schema and its decoder.
type Kind struct {
	Name   string
	Schema *hcl.BodySchema
	// BlockSchemas are the schemas of the nested blocks Schema declares
	// (e.g. a firewall's `rule` blocks), one level deep.
	BlockSchemas map[string]*hcl.BodySchema
	// Decode builds a task from its evaluated attributes; the task's address
	// is Address{a.Kind, a.Name}.
	Decode func(a *attrs.Attrs) Task
	// SensitiveAttrs may hold values derived from sensitive variables; the
	// kind hides them (file content, commands). Any other attribute, and
	// those of nested blocks, is refused when sensitive before Decode sees
	// it: a path, name, mode or port is shown in plans, errors and on the host.
	SensitiveAttrs []string
	// OnePerHost kinds manage something a host has once (its firewall):
	// two such tasks on one host would fight, so a plan may not have that.
	OnePerHost bool
	// AlwaysRuns marks kinds whose unguarded tasks run on every apply, so
	// the idempotency re-check does not apply (a command with no guard).
	AlwaysRuns func(t Task) bool
	// NewPlanned returns a new, empty value of the type the kind's Check
	// puts in Change.Planned (a pointer), for decoding a Change from JSON;
	// nil for kinds that put nothing there.
	NewPlanned func() any
}

var kinds = map[string]Kind{}

func register(k Kind) { kinds[k.Name] = k }

// LookupKind returns the kind with this name.
func LookupKind(name string) (Kind, bool) {
	k, ok := kinds[name]
	return k, ok
}

// KindNames lists the known kinds, sorted, for error messages.
func KindNames() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
