package tasks

import (
	"context"
	"fmt"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
)

// ServiceAction restarts or reloads a systemd unit every time it runs. It
// is what a handler such as `handler "restart_ssh" { service = "ssh" }`
// becomes.
type ServiceAction struct {
	addr    Address
	service string
	action  string // restart | reload | try-restart | reload-or-restart
}

// ServiceActionKind is the kind of handlers that name a service.
var ServiceActionKind = Kind{
	Name: "service_action",
	Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "service", Required: true}, {Name: "action"},
	}},
	Decode: func(a *attrs.Attrs) Task {
		s := &ServiceAction{addr: Address{a.Kind, a.Name}, service: a.String("service"), action: a.String("action")}
		switch s.action {
		case "":
			s.action = "restart"
		case "restart", "reload", "try-restart", "reload-or-restart":
		default:
			a.AttrErrorf("action", "Invalid action", `action must be "restart", "reload", "try-restart" or "reload-or-restart", got %q.`, s.action)
		}
		return s
	},
	AlwaysRuns: func(Task) bool { return true },
}

func (s *ServiceAction) Address() Address { return s.addr }

func (s *ServiceAction) Probes() []Probe { return []Probe{probe.Unit{Name: s.service}} }

func (s *ServiceAction) Check(st *State, env Env) (*Change, error) {
	if _, err := readUnit(st, s.service); err != nil {
		return nil, err
	}
	return &Change{Address: s.addr, Action: Run, Summary: fmt.Sprintf("systemctl %s %s", s.action, s.service)}, nil
}

func (s *ServiceAction) Apply(ctx context.Context, h hosts.Host, _ *Change) error {
	return runOK(ctx, h, "systemctl "+s.action+" -- "+hosts.Quote(s.service))
}
