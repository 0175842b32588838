package tasks

import (
	"context"
	"errors"
	"time"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Command runs a shell command, unless a guard says it has done its work:
// `creates` (a path that exists afterwards) or `unless` (a read-only command
// that exits 0 when nothing is to be done). Guards are evaluated during
// plan, so `unless` must not change the host.
//
// A command implements neither PathWriter nor Cutter: what a shell
// command does cannot be judged from its text, so a guarded run
// (-confirm) does not arm for it and the guard snapshots nothing for it.
// Configuration that can cut SSH belongs in file tasks, which are guarded.
type Command struct {
	addr      Address
	command   string
	sensitive bool
	creates   string
	unless    string
	timeout   time.Duration // 0: the run's -command-timeout
}

func init() {
	register(Kind{
		Name: "command",
		Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
			{Name: "command", Required: true}, {Name: "creates"}, {Name: "unless"}, {Name: "timeout"},
		}},
		SensitiveAttrs: []string{"command", "creates", "unless"},
		Decode: func(a *attrs.Attrs) Task {
			// A guard that uses a secret makes the whole task sensitive.
			return &Command{addr: Address{a.Kind, a.Name}, command: a.String("command"),
				sensitive: a.Sensitive("command") || a.Sensitive("creates") || a.Sensitive("unless"),
				creates:   a.AbsPath("creates"), unless: a.String("unless"), timeout: decodeTimeout(a)}
		},
		AlwaysRuns: func(t Task) bool {
			c := t.(*Command)
			return c.creates == "" && c.unless == ""
		},
	})
}

func (c *Command) Address() Address { return c.addr }

func (c *Command) Probes() []Probe {
	var ps []Probe
	if c.creates != "" {
		// When sensitive, errors must not name the creates path.
		ps = append(ps, probe.Stat{Path: c.creates, Sensitive: c.sensitive})
	}
	if c.unless != "" {
		ps = append(ps, probe.Exit{Cmd: c.unless})
	}
	return ps
}

func (c *Command) Check(s *State, env Env) (*Change, error) {
	ch := &Change{Address: c.addr}
	switch {
	case c.creates != "" && s.Stat(c.creates).Exists:
		ch.Summary = c.creates + " exists"
		if c.sensitive {
			// creates may be the sensitive part of the task.
			ch.Summary = "its creates path exists"
		}
	case c.unless != "" && s.Exit(c.unless) == 0:
		ch.Summary = "unless command exited 0"
	default:
		ch.Action, ch.Summary = Run, "run "+c.Display()
	}
	return ch, nil
}

// Display is the command as output may show it.
func (c *Command) Display() string {
	if c.sensitive {
		return "(sensitive command)"
	}
	return "`" + c.command + "`"
}

// decodeTimeout reads the optional `timeout`, a duration as Go writes it
// ("90s", "10m", "1h30m"), above zero.
func decodeTimeout(a *attrs.Attrs) time.Duration {
	v, ok := a.Value("timeout", cty.String)
	if !ok {
		return 0 // absent, unknown (validate), or not a string (reported)
	}
	s := v.AsString()
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		a.AttrErrorf("timeout", "Invalid timeout", `timeout must be a duration above zero such as "90s", "10m" or "1h30m", got %q.`, s)
		return 0
	}
	return d
}

func (c *Command) Apply(ctx context.Context, h hosts.Host, _ *Change) error {
	if c.timeout > 0 {
		ctx = hosts.WithTaskTimeout(ctx, c.timeout)
	}
	err := runOK(ctx, h, c.command)
	if err != nil && c.sensitive {
		// The output of a sensitive command may echo the secret.
		return errors.New("the command failed (its output is hidden: the command is sensitive)")
	}
	return err
}
