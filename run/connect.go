package run

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
)

// session is a connection to a host and how it was made.
type session struct {
	hosts.Host
	cfg hosts.Config // the settings that reached the host
	// moveTo is the plan's SSH port when hako came in through the
	// bootstrap settings (0 otherwise): the run moves the host there.
	moveTo int
	allow  map[string]bool // the checks -allow-risky overrides
	// guarded: -confirm arms the rollback guard for every change that can
	// cut hako off (see overrides).
	guarded bool
	// probed counts the host's probes, over every connection of the run.
	probed *probeCount
}

// probeCount is what a run's probes cost the host: round trips (probe
// scripts run) and the processes they started there.
type probeCount struct {
	rounds, processes int
	unknown           bool // a probe could not count its processes
}

// String is the -v line: "probe: 1 round trip, 23 processes on the host".
func (c *probeCount) String() string {
	trips := "round trips"
	if c.rounds == 1 {
		trips = "round trip"
	}
	if c.unknown {
		return fmt.Sprintf("probe: %d %s (processes on the host not counted: no /proc/sys/kernel/ns_last_pid)", c.rounds, trips)
	}
	return fmt.Sprintf("probe: %d %s, %d processes on the host", c.rounds, trips, c.processes)
}

// gather probes the host.
func (s *session) gather(ctx context.Context, probes []tasks.Probe) (*tasks.State, error) {
	st, err := tasks.Gather(ctx, s.Host, probes)
	if s.probed == nil {
		s.probed = &probeCount{}
	}
	s.probed.rounds++
	if err != nil || st.Processes < 0 {
		s.probed.unknown = true
	} else {
		s.probed.processes += st.Processes
	}
	return st, err
}

// gatherKnown probes the host for what known (nil: nothing) does not
// answer already, and answers with both.
func (s *session) gatherKnown(ctx context.Context, known *probe.Answers, probes []tasks.Probe) (*tasks.State, error) {
	if known == nil {
		return s.gather(ctx, probes)
	}
	probes = slices.DeleteFunc(slices.Clone(probes), known.Has)
	if len(probes) == 0 {
		// Everything was answered already: no round trip.
		return tasks.StateOf(s.Host, known), nil
	}
	st, err := s.gather(ctx, probes)
	if err != nil {
		return nil, err
	}
	st.Answers.Add(known)
	return st, nil
}

// env is what the tasks' checks and capabilities need to know of this
// run: the connection as the host sees it (from st), the port move in
// progress and the users hako logs in as.
func (s *session) env(h *plan.Host, st *tasks.State) tasks.Env {
	e := tasks.Env{MoveTo: s.moveTo, LoginUsers: []string{h.Conn.User}}
	if st != nil {
		e.Endpoint = st.Endpoint
	}
	if s.cfg.User != h.Conn.User {
		e.LoginUsers = append(e.LoginUsers, s.cfg.User)
	}
	return e
}

// connect reaches a host with the plan's settings, or, when no TCP
// connection to its port could be made and the host has a bootstrap block,
// with those: a freshly flashed card still listens on 22 as its default
// user (the new port is refused), and a hardened host moving to another
// port has its firewall drop the new one (it times out). A host-key or
// login failure never falls back.
func (o Options) connect(ctx context.Context, h *plan.Host, note func(string)) (*session, error) {
	b := h.Bootstrap
	cfg := h.Conn
	if b != nil && b.Port != cfg.Port {
		// The bootstrap port is the same machine: its key must agree, and
		// -reprovision replaces its entry too.
		cfg.HostPorts = []int{b.Port}
	}
	c, err := o.dialNoting(ctx, cfg, note)
	if err == nil {
		return &session{Host: c, cfg: h.Conn, allow: o.AllowRisky, guarded: o.Confirm > 0}, nil
	}
	if b == nil || !errors.Is(err, hosts.ErrNoTCPConnection) || (b.Port == h.Conn.Port && b.User == h.Conn.User) {
		return nil, err
	}
	why := "refused the connection"
	if !errors.Is(err, hosts.ErrConnectionRefused) {
		why = "did not answer"
	}
	note(fmt.Sprintf("port %d %s; connecting with the bootstrap settings instead (%s@%s:%d)",
		h.Conn.Port, why, b.User, b.Address, b.Port))
	// HostPorts: when the host's own port has a recorded key, only that
	// key is accepted here, so that whoever blocks the port and answers on
	// the bootstrap port gets neither the password nor the run.
	bc := *b
	bc.Password, bc.HostPorts = o.BootstrapPassword, []int{h.Conn.Port}
	c, berr := o.dialNoting(ctx, bc, note)
	if berr != nil {
		return nil, fmt.Errorf("%v; with the bootstrap settings: %w", err, berr)
	}
	s := &session{Host: c, cfg: *b, allow: o.AllowRisky, guarded: o.Confirm > 0}
	if b.Port != h.Conn.Port {
		s.moveTo = h.Conn.Port
	}
	return s, nil
}

// dialNoting dials and says so when a reflashed host's key was replaced
// or a new key was recorded: a first contact is never silent.
func (o Options) dialNoting(ctx context.Context, cfg hosts.Config, note func(string)) (hosts.Host, error) {
	if o.Reprovision[cfg.Name] {
		// The old keys of this host go; every port records the new one.
		cfg.Reprovision, cfg.AcceptNewHostKeys = true, true
	}
	c, err := o.dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	noteHostKey(c, note)
	return c, nil
}

// noteHostKey says what a dial did to known_hosts, if anything.
func noteHostKey(c hosts.Host, note func(string)) {
	if vh, ok := c.(hosts.VerifiedHost); ok && vh.KnownHostsNote() != "" {
		note(vh.KnownHostsNote())
	}
}
