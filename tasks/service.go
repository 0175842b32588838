package tasks

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
)

// Service keeps a systemd unit enabled or disabled, started or stopped.
//
// A service is not a Cutter: the guard restores files and restarts sshd,
// not a unit's enablement, so a guarded run does not arm for it.
type Service struct {
	addr    Address
	name    string
	enabled *bool  // nil: not managed
	state   string // "started", "stopped" or "" (not managed)
}

func init() {
	register(Kind{
		Name: "service",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "name", Required: true}, {Name: "enabled"}, {Name: "state"},
		}},
		Decode:     decodeService,
		NewPlanned: func() any { return new(ServicePlan) },
	})
}

var unitName = regexp.MustCompile(`^[A-Za-z0-9:_.@\\-]+$`)

func decodeService(a *attrs.Attrs) Task {
	s := &Service{addr: Address{a.Kind, a.Name}, name: a.String("name"), state: a.String("state")}
	if s.name != "" && !unitName.MatchString(s.name) {
		a.AttrErrorf("name", "Invalid unit name", "%q is not a systemd unit name.", s.name)
	}
	if a.Has("enabled") {
		e := a.Bool("enabled", false)
		s.enabled = &e
	}
	switch s.state {
	case "", "started", "stopped":
	default:
		a.AttrErrorf("state", "Invalid state", `state must be "started" or "stopped", got %q.`, s.state)
	}
	return s
}

func (s *Service) Address() Address { return s.addr }

func (s *Service) Probes() []Probe { return []Probe{probe.Unit{Name: s.name}} }

// unitState is what systemd says of a unit.
type unitState struct{ init, enabled, active string }

func readUnit(st *State, name string) (unitState, error) {
	a := probe.Answer[probe.UnitInfo](st.Answers, probe.Unit{Name: name})
	u := unitState{init: a.Init, enabled: a.Enabled, active: a.Active}
	if u.enabled == "not-found" {
		u.enabled = "" // systemd 254 and later say so; earlier ones print nothing
	}
	if u.init != "systemd" {
		return u, fmt.Errorf("the host does not run systemd (PID 1 is %q), so hako cannot manage the service %q; "+
			"use a command task (for example `service %s restart`) on such hosts", u.init, name, name)
	}
	return u, nil
}

func (s *Service) Check(st *State, env Env) (*Change, error) {
	u, err := readUnit(st, s.name)
	if err != nil {
		return nil, err
	}
	w := &ServicePlan{DaemonReload: u.enabled == ""}
	c := &Change{Address: s.addr, Summary: s.name, Planned: w}
	if s.enabled != nil {
		// static, indirect and generated units are started by others
		// (dependencies, sockets, generators): `systemctl enable` leaves
		// them as they are, so they count as on, and cannot be turned off.
		switch u.enabled {
		case "static", "indirect", "generated":
			if !*s.enabled {
				return nil, fmt.Errorf("the unit %s is %s: systemctl cannot disable it; mask it instead, or leave enabled unset", s.name, u.enabled)
			}
		}
		isOn := map[string]bool{"enabled": true, "enabled-runtime": true, "alias": true,
			"static": true, "indirect": true, "generated": true}[u.enabled]
		if *s.enabled != isOn {
			e := *s.enabled
			w.Enable = &e
			c.Attrs = append(c.Attrs, AttrChange{"enabled", orUnknown(u.enabled), fmt.Sprint(*s.enabled)})
		}
	}
	if s.state != "" {
		isUp := u.active == "active" || u.active == "reloading" || u.active == "activating"
		if (s.state == "started") != isUp {
			w.State = s.state
			c.Attrs = append(c.Attrs, AttrChange{"state", orUnknown(u.active), s.state})
		}
	}
	if len(c.Attrs) > 0 {
		c.Action = Update
		c.Summary = "update " + s.name
		if u.enabled == "" {
			c.Summary += " (not installed yet)"
		}
	}
	return c, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// ServicePlan is a service task's planned change.
type ServicePlan struct {
	// DaemonReload: systemd did not know the unit when checked; its file
	// may be new, so systemd reloads its units first.
	DaemonReload bool   `json:"daemon_reload"`
	Enable       *bool  `json:"enable,omitempty"` // nil: left as it is
	State        string `json:"state,omitempty"`  // "started", "stopped"; "": left as it is
}

// Apply enables (or disables) and then starts (or stops) in one command,
// so a unit is never left half-configured.
func (s *Service) Apply(ctx context.Context, h hosts.Host, c *Change) error {
	w := c.Planned.(*ServicePlan)
	q := hosts.Quote(s.name)
	var cmds []string
	if w.DaemonReload {
		cmds = append(cmds, "systemctl daemon-reload")
	}
	switch {
	case w.Enable == nil:
	case *w.Enable:
		cmds = append(cmds, "systemctl enable -- "+q)
	default:
		cmds = append(cmds, "systemctl disable -- "+q)
	}
	switch w.State {
	case "started":
		cmds = append(cmds, "systemctl start -- "+q)
	case "stopped":
		cmds = append(cmds, "systemctl stop -- "+q)
	}
	return runOK(ctx, h, strings.Join(cmds, " && "))
}
