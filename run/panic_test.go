package run

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/plantest"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// panicky wraps a task and panics, as a parser meeting an answer it did
// not expect would, in Check or in Apply.
type panicky struct {
	tasks.Task
	inApply bool
}

func (p panicky) Check(st *tasks.State, env tasks.Env) (*tasks.Change, error) {
	c, err := p.Task.Check(st, env)
	if !p.inApply {
		var fields []string
		_ = fields[len(c.Summary)+1] // index out of range
	}
	return c, err
}

func (p panicky) Apply(ctx context.Context, h hosts.Host, c *tasks.Change) error {
	if p.inApply {
		panic("tasks: no output probe for secret-command")
	}
	return p.Task.Apply(ctx, h, c)
}

// twoHosts is a plan with hosts a and b, both this machine, each writing
// one file in its own folder; b's task is wrapped by wrap.
func twoHosts(t *testing.T, wrap func(tasks.Task) tasks.Task) (*plan.Plan, string) {
	t.Helper()
	root := t.TempDir()
	var src string
	for _, h := range []string{"a", "b"} {
		if err := os.Mkdir(filepath.Join(root, h), 0o755); err != nil {
			t.Fatal(err)
		}
		src += `host "` + h + `" {
  address = "127.0.0.1"
  user    = "nobody"
}
task "file" "conf_` + h + `" {
  hosts   = ["` + h + `"]
  path    = "` + filepath.Join(root, h, "conf") + `"
  content = "x\n"
}
`
	}
	p := plantest.Build(t, src)
	for _, s := range p.Hosts[1].Steps {
		s.Task = wrap(s.Task)
	}
	return p, root
}

var eachLocal = Options{Dial: func(_ context.Context, cfg hosts.Config) (hosts.Host, error) {
	return hosts.NewLocal(cfg.Name), nil
}}

// A panic while checking or applying one host's task fails that task,
// naming the host and the task; the other host converges. The panic's
// own value is shown only when it is the runtime's (it may quote a
// command).
func TestPanicFailsOnlyItsHost(t *testing.T) {
	for _, inApply := range []bool{false, true} {
		p, root := twoHosts(t, func(t tasks.Task) tasks.Task { return panicky{t, inApply} })
		if !inApply {
			hp := Plan(context.Background(), p, eachLocal)
			if hp[0].Err != nil || hp[0].Changes[0].Err != nil {
				t.Errorf("plan of a: %v %v", hp[0].Err, hp[0].Changes[0].Err)
			}
			if err := hp[1].Changes[0].Err; err == nil || !strings.Contains(err.Error(),
				"host b: task file.conf_b: internal error (a bug in hako, please report it): panic: runtime error: index out of range") ||
				!strings.Contains(err.Error(), "run.panicky.Check (run/panic_test.go:") {
				t.Errorf("plan of b: %v", err)
			}
		}
		rec := &recorder{}
		recaps := Apply(context.Background(), p, eachLocal, rec)
		if r := recaps[0]; r.Changed != 1 || r.Failed != 0 {
			t.Errorf("in apply %v: recap of a %+v", inApply, r)
		}
		if _, err := os.Stat(filepath.Join(root, "a", "conf")); err != nil {
			t.Errorf("a was not applied: %v", err)
		}
		if r := recaps[1]; r.Failed != 1 {
			t.Errorf("in apply %v: recap of b %+v", inApply, r)
		}
		var errB string
		for _, r := range rec.results {
			if r.Host == "b" && r.Err != nil {
				errB = r.Err.Error()
			}
		}
		if !strings.Contains(errB, "host b: task file.conf_b: internal error") || strings.Contains(errB, "secret-command") {
			t.Errorf("in apply %v: b's error %q", inApply, errB)
		}
	}
}

// A panic outside any task (here while connecting) ends its host's run
// only.
func TestPanicOutsideATask(t *testing.T) {
	p, root := twoHosts(t, func(t tasks.Task) tasks.Task { return t })
	o := Options{Dial: func(_ context.Context, cfg hosts.Config) (hosts.Host, error) {
		if cfg.Name == "b" {
			var m map[string]int
			m["x"]++ // assignment to a nil map
		}
		return hosts.NewLocal(cfg.Name), nil
	}}
	recaps := Apply(context.Background(), p, o, &recorder{})
	if recaps[0].Changed != 1 || recaps[0].Failed != 0 {
		t.Errorf("recap of a %+v", recaps[0])
	}
	if _, err := os.Stat(filepath.Join(root, "a", "conf")); err != nil {
		t.Errorf("a was not applied: %v", err)
	}
	if r := recaps[1]; r.Failed != 1 || r.Unreachable == nil || !strings.Contains(r.Unreachable.Error(), "host b: the run: internal error") {
		t.Errorf("recap of b %+v", r)
	}
	hp := Plan(context.Background(), p, o)
	if hp[0].Err != nil || hp[1].Err == nil || !strings.Contains(hp[1].Err.Error(), "assignment to entry in nil map") {
		t.Errorf("plan: a %v, b %v", hp[0].Err, hp[1].Err)
	}
}

// applyCounter counts Apply calls.
type applyCounter struct {
	tasks.Task
	applied int
}

func (a *applyCounter) Apply(context.Context, hosts.Host, *tasks.Change) error {
	a.applied++
	return nil
}

// A change read back from JSON lacks what no output shows (sensitive
// content, keys): the run refuses to apply it rather than write less.
func TestChangeFromJSONIsNotApplied(t *testing.T) {
	p, _ := twoHosts(t, func(t tasks.Task) tasks.Task { return t })
	s := p.Hosts[0].Steps[0]
	counter := &applyCounter{Task: s.Task}
	step := *s
	step.Task = counter
	var c tasks.Change
	if err := json.Unmarshal([]byte(`{"address":{"kind":"command","name":"x"},"action":"run","summary":"x"}`), &c); err != nil {
		t.Fatal(err)
	}
	err := apply(t.Context(), "a", &step, nil, &c)
	if err == nil || !strings.Contains(err.Error(), "read back from JSON cannot be applied") || counter.applied != 0 {
		t.Errorf("apply of a decoded change: %v, Apply called %d times", err, counter.applied)
	}
}
