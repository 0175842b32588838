package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/plantest"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/tasks"
)

// recorder is a Reporter that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	results []Result
	notes   []string
}

func (r *recorder) Result(res Result)  { r.mu.Lock(); r.results = append(r.results, res); r.mu.Unlock() }
func (r *recorder) Note(_, msg string) { r.mu.Lock(); r.notes = append(r.notes, msg); r.mu.Unlock() }
func (r *recorder) Warning(_, msg string) {
	r.mu.Lock()
	r.notes = append(r.notes, "warning: "+msg)
	r.mu.Unlock()
}

func (r *recorder) statuses() string {
	var out []string
	for _, res := range r.results {
		name := res.Step.Task.Address().String()
		if res.Handler {
			name = "handler." + res.Step.Task.Address().Name
		}
		out = append(out, name+"="+res.Status.String())
	}
	return strings.Join(out, " ")
}

// localPlan builds a plan whose one host is this machine; ROOT in src is
// replaced by a fresh temp dir, which is returned.
func localPlan(t *testing.T, src string) (*plan.Plan, string) {
	t.Helper()
	root := t.TempDir()
	p := plantest.Build(t, `host "local" {
  address = "127.0.0.1"
  user    = "nobody"
}
`+strings.ReplaceAll(src, "ROOT", root))
	return p, root
}

var localOpts = Options{Dial: func(context.Context, hosts.Config) (hosts.Host, error) {
	return hosts.NewLocal("local"), nil
}}

const basicPlan = `
task "directory" "app" {
  path = "ROOT/app"
  mode = "0750"
}
task "file" "conf" {
  path    = "ROOT/app/conf"
  content = "a=1\n"
  notify  = ["reload"]
}
task "command" "init" {
  command = "touch ROOT/app/.init"
  creates = "ROOT/app/.init"
}
handler "reload" {
  command = "echo reloaded >> ROOT/reloads"
}
`

func TestApplyConvergesThenNoOp(t *testing.T) {
	p, root := localPlan(t, basicPlan)
	rec := &recorder{}
	recaps := Apply(context.Background(), p, localOpts, rec)
	if got := rec.statuses(); got != "directory.app=changed file.conf=changed command.init=changed handler.reload=changed" {
		t.Errorf("first apply: %s", got)
	}
	if r := recaps[0]; r.Changed != 4 || r.OK != 0 || r.Failed != 0 {
		t.Errorf("recap %+v", r)
	}
	rec = &recorder{}
	recaps = Apply(context.Background(), p, localOpts, rec)
	if got := rec.statuses(); got != "directory.app=ok file.conf=ok command.init=ok" {
		t.Errorf("second apply: %s", got)
	}
	if r := recaps[0]; r.Changed != 0 || r.OK != 3 {
		t.Errorf("second recap %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "reloads")); string(b) != "reloaded\n" {
		t.Errorf("handler ran %q", b)
	}
	hp := Plan(context.Background(), p, localOpts)
	for _, sc := range hp[0].Changes {
		if sc.Err != nil || sc.Change.Changed() {
			t.Errorf("plan after apply: %s %+v %v", sc.Step.Task.Address(), sc.Change, sc.Err)
		}
	}
}

func TestPlanChangesNothing(t *testing.T) {
	p, root := localPlan(t, basicPlan)
	hp := Plan(context.Background(), p, localOpts)
	if hp[0].Err != nil {
		t.Fatal(hp[0].Err)
	}
	var actions []string
	for _, sc := range hp[0].Changes {
		actions = append(actions, sc.Change.Action.String())
	}
	if got := strings.Join(actions, " "); got != "create create run" {
		t.Errorf("actions %s", got)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("plan touched the host: %v", entries)
	}
}

func TestFailureSkipsRestButRunsHandlers(t *testing.T) {
	p, root := localPlan(t, `
task "file" "conf" {
  path    = "ROOT/conf"
  content = "x\n"
  notify  = ["reload"]
}
task "command" "broken" {
  command = "echo it broke >&2; exit 4"
}
task "file" "later" {
  path    = "ROOT/later"
  content = "y\n"
}
handler "reload" {
  command = "touch ROOT/reloaded"
}
`)
	rec := &recorder{}
	recaps := Apply(context.Background(), p, localOpts, rec)
	if got := rec.statuses(); got != "file.conf=changed command.broken=failed file.later=skipped handler.reload=changed" {
		t.Errorf("statuses: %s", got)
	}
	if r := recaps[0]; r.Failed != 1 || r.Skipped != 1 || !r.HandlersAfterFailure {
		t.Errorf("recap %+v", r)
	}
	if len(rec.notes) != 1 || !strings.Contains(rec.notes[0], "handlers") {
		t.Errorf("notes %v", rec.notes)
	}
	if !strings.Contains(rec.results[1].Err.Error(), "it broke") {
		t.Errorf("failure message: %v", rec.results[1].Err)
	}
	if _, err := os.Stat(filepath.Join(root, "reloaded")); err != nil {
		t.Error("handler did not run after the failure")
	}
	if _, err := os.Stat(filepath.Join(root, "later")); err == nil {
		t.Error("a task after the failure ran")
	}
}

// A command whose guard never becomes true is caught by the re-check; it
// did change the host, so its handler still runs.
func TestNotIdempotentIsAFailure(t *testing.T) {
	p, root := localPlan(t, `
task "command" "liar" {
  command = "true"
  creates = "ROOT/never"
  notify  = ["after"]
}
handler "after" {
  command = "touch ROOT/handled"
}
`)
	rec := &recorder{}
	Apply(context.Background(), p, localOpts, rec)
	r := rec.results[0]
	if r.Status != Failed || !strings.Contains(r.Err.Error(), "not idempotent") {
		t.Errorf("result %+v", r)
	}
	if _, err := os.Stat(filepath.Join(root, "handled")); err != nil {
		t.Error("the handler of a task that changed the host must run")
	}
}

// A later task's check sees what an earlier task changed.
func TestLaterChecksSeeEarlierChanges(t *testing.T) {
	p, _ := localPlan(t, `
task "command" "make" {
  command = "mkdir -p ROOT/d && touch ROOT/d/done"
  creates = "ROOT/d/done"
}
task "command" "after" {
  command = "false"
  creates = "ROOT/d"
}
`)
	rec := &recorder{}
	Apply(context.Background(), p, localOpts, rec)
	if got := rec.statuses(); got != "command.make=changed command.after=ok" {
		t.Errorf("statuses: %s", got)
	}
}

func TestUnreachableHost(t *testing.T) {
	p, _ := localPlan(t, basicPlan)
	o := Options{Dial: func(context.Context, hosts.Config) (hosts.Host, error) {
		return nil, os.ErrDeadlineExceeded
	}}
	recaps := Apply(context.Background(), p, o, &recorder{})
	if r := recaps[0]; r.Unreachable == nil || r.Failed != 1 || r.Skipped != 3 {
		t.Errorf("recap %+v", r)
	}
	if hp := Plan(context.Background(), p, o); hp[0].Err == nil {
		t.Error("plan of an unreachable host must fail")
	}
}

// refuser is a task whose Check refuses, as a lockout check would.
type refuser struct{}

func (refuser) Address() tasks.Address { return tasks.Address{Kind: "test", Name: "refuser"} }
func (refuser) Probes() []tasks.Probe  { return nil }
func (refuser) Check(*tasks.State, tasks.Env) (*tasks.Change, error) {
	return nil, &tasks.Refusal{Reason: "it would lock you out"}
}
func (refuser) Apply(context.Context, hosts.Host, *tasks.Change) error { return nil }

func TestRefusalChangesNothing(t *testing.T) {
	p, root := localPlan(t, `
task "file" "first" {
  path    = "ROOT/first"
  content = "x\n"
}
`)
	p.Hosts[0].Steps = append(p.Hosts[0].Steps, &plan.Step{Task: refuser{}})
	rec := &recorder{}
	recaps := Apply(context.Background(), p, localOpts, rec)
	if got := rec.statuses(); got != "file.first=skipped test.refuser=failed" {
		t.Errorf("statuses: %s", got)
	}
	if recaps[0].Failed != 1 || !strings.Contains(rec.results[1].Err.Error(), "lock you out") {
		t.Errorf("recap %+v, results %+v", recaps[0], rec.results)
	}
	if _, err := os.Stat(filepath.Join(root, "first")); err == nil {
		t.Error("a task ran although the plan was refused")
	}
}

// riskyTask's change carries a refusal under a named check, as the ufw
// task's does with ufw-lockout.
type riskyTask struct{ ran *bool }

func (riskyTask) Address() tasks.Address { return tasks.Address{Kind: "test", Name: "risky"} }
func (riskyTask) Probes() []tasks.Probe  { return nil }
func (r riskyTask) Check(*tasks.State, tasks.Env) (*tasks.Change, error) {
	if *r.ran {
		return &tasks.Change{}, nil
	}
	return &tasks.Change{Action: tasks.Update, Summary: "risky",
		Refusals: []*tasks.Refusal{{Check: tasks.CheckUFWLockout, Reason: "test.risky would lock you out"}}}, nil
}
func (r riskyTask) Apply(context.Context, hosts.Host, *tasks.Change) error { *r.ran = true; return nil }

// -allow-risky: plan and apply go ahead, and say the check was overridden.
func TestAllowRiskyOverridesARefusal(t *testing.T) {
	p, _ := localPlan(t, "")
	ran := false
	p.Hosts[0].Steps = append(p.Hosts[0].Steps, &plan.Step{Task: riskyTask{&ran}})

	hp := Plan(context.Background(), p, localOpts)[0]
	if err := hp.Changes[0].Err; err == nil || !strings.Contains(err.Error(), "(check ufw-lockout; -allow-risky ufw-lockout overrides it)") || len(hp.Warnings) != 0 {
		t.Errorf("plan: %v, warnings %v", err, hp.Warnings)
	}
	rec := &recorder{}
	Apply(context.Background(), p, localOpts, rec)
	if ran || rec.statuses() != "test.risky=failed" {
		t.Errorf("refused apply ran: %s", rec.statuses())
	}

	opts := localOpts
	opts.AllowRisky = map[string]bool{tasks.CheckUFWLockout: true}
	hp = Plan(context.Background(), p, opts)[0]
	if sc := hp.Changes[0]; sc.Err != nil || !sc.Change.Changed() || len(hp.Warnings) != 1 ||
		hp.Warnings[0].String() != "overridden by -allow-risky ufw-lockout: test.risky would lock you out" {
		t.Errorf("plan: %+v, warnings %v", sc, hp.Warnings)
	}
	rec = &recorder{}
	recaps := Apply(context.Background(), p, opts, rec)
	if !ran || recaps[0].Changed != 1 || strings.Join(rec.notes, "\n") != "warning: overridden by -allow-risky ufw-lockout: test.risky would lock you out" {
		t.Errorf("apply: ran %v, recap %+v, notes %q", ran, recaps[0], rec.notes)
	}
}

// predicting is a task whose Apply leaves the host other than its change
// predicted, although its re-check finds nothing left to do (as a ufw
// whose rules end in another order than simulated).
type predicting struct{ applied *bool }

func (predicting) Address() tasks.Address { return tasks.Address{Kind: "test", Name: "predicting"} }
func (predicting) Probes() []tasks.Probe  { return nil }
func (p predicting) Check(*tasks.State, tasks.Env) (*tasks.Change, error) {
	if *p.applied {
		return &tasks.Change{Summary: "as planned"}, nil
	}
	return &tasks.Change{Action: tasks.Update, Summary: "change"}, nil
}
func (p predicting) Apply(context.Context, hosts.Host, *tasks.Change) error {
	*p.applied = true
	return nil
}
func (predicting) CheckFinal(*tasks.Change, *tasks.State) error {
	return errors.New("rule 2 was predicted but is not there")
}

// The host holding other than the change predicted fails the task, with
// the host, the task and what differs; its handlers still run (the host
// changed).
func TestInconsistentResultIsAFailure(t *testing.T) {
	p, root := localPlan(t, `
handler "after" {
  command = "touch ROOT/handled"
}
`)
	applied := false
	p.Hosts[0].Steps = append(p.Hosts[0].Steps, &plan.Step{Task: predicting{&applied}, Notify: []string{"after"}})
	rec := &recorder{}
	recaps := Apply(context.Background(), p, localOpts, rec)
	r := rec.results[0]
	if r.Status != Failed || recaps[0].Failed != 1 || r.Err == nil ||
		r.Err.Error() != "host local: test.predicting: after apply, the host differs from the plan: rule 2 was predicted but is not there" {
		t.Errorf("result %+v, recap %+v", r, recaps[0])
	}
	if _, err := os.Stat(filepath.Join(root, "handled")); err != nil {
		t.Error("the handler of a task that changed the host must run")
	}
}
