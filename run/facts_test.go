package run

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hako-dev/hako/hosts"
)

// countingHost counts the commands run on a local host: each is a round
// trip over SSH.
// factsAsked counts the scripts that ask for the facts.
type countingHost struct {
	hosts.Host
	runs, factsAsked *atomic.Int32
}

func (c countingHost) Run(ctx context.Context, cmd string) (hosts.Result, error) {
	c.runs.Add(1)
	if strings.Contains(cmd, "\nhako_facts ") {
		c.factsAsked.Add(1)
	}
	return c.Host.Run(ctx, cmd)
}

func countingOpts() (Options, *atomic.Int32, *atomic.Int32) {
	var n, f atomic.Int32
	return Options{Dial: func(context.Context, hosts.Config) (hosts.Host, error) {
		return countingHost{hosts.NewLocal("local"), &n, &f}, nil
	}}, &n, &f
}

func localArch(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// A plan that reads no fact costs what it always did; one that does costs
// one round trip more, for the facts alone, in plan and in apply. Either
// way the facts are asked once (preflight reads them too).
func TestFactsCostOneRoundTrip(t *testing.T) {
	const plain = `
task "file" "a" {
  path    = "ROOT/a"
  content = "a\n"
}
`
	const withFacts = plain + `
task "file" "b" {
  path    = "ROOT/b"
  content = "${host.facts.arch}\n"
}
`
	trips := func(src string) (plan, apply int32) {
		p, _ := localPlan(t, src)
		o, n, asked := countingOpts()
		if hp := Plan(context.Background(), p, o); hp[0].Err != nil {
			t.Fatal(hp[0].Err)
		}
		if asked.Load() != 1 {
			t.Errorf("plan asked for the facts %d times", asked.Load())
		}
		plan = n.Swap(0)
		p, _ = localPlan(t, src)
		if r := Apply(context.Background(), p, o, &recorder{}); r[0].Failed > 0 || r[0].Unreachable != nil {
			t.Fatalf("apply %+v", r[0])
		}
		return plan, n.Load()
	}
	plainPlan, plainApply := trips(plain)
	factsPlan, factsApply := trips(withFacts)
	if plainPlan != 1 || factsPlan != 2 {
		t.Errorf("plan: %d round trips without facts, %d with", plainPlan, factsPlan)
	}
	// Apply re-checks the changed tasks together at the end: one more
	// task changed costs no round trip; the facts cost one.
	if factsApply != plainApply+1 {
		t.Errorf("apply: %d round trips without facts, %d with", plainApply, factsApply)
	}
}

// when = host.facts... decides per host, with the facts the host gave;
// the task's attributes read them too, and the plan shows the decided
// steps.
func TestFactsDecideOnTheHost(t *testing.T) {
	arch := localArch(t)
	p, root := localPlan(t, `
task "file" "mine" {
  path    = "ROOT/mine"
  content = "${host.facts.arch}\n"
  when    = host.facts.arch == "`+arch+`"
}
task "file" "other" {
  path    = "ROOT/other"
  content = "x\n"
  when    = host.facts.arch == "no-such-arch"
}
`)
	hp := Plan(context.Background(), p, localOpts)
	if hp[0].Err != nil || len(hp[0].Changes) != 1 || hp[0].Changes[0].Step.Task.Address().Name != "mine" {
		t.Fatalf("plan: %v %+v", hp[0].Err, hp[0].Changes)
	}
	rec := &recorder{}
	Apply(context.Background(), p, localOpts, rec)
	if got := rec.statuses(); got != "file.mine=changed" {
		t.Errorf("apply: %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "mine")); string(b) != arch+"\n" {
		t.Errorf("mine: %q", b)
	}
	if _, err := os.Stat(filepath.Join(root, "other")); err == nil {
		t.Error("the task for another architecture ran")
	}
}

// An error only the facts show fails the host, naming it and the plan's
// file and line; nothing runs.
func TestFactsErrorFailsTheHost(t *testing.T) {
	p, root := localPlan(t, `
task "file" "a" {
  path    = "ROOT/a"
  content = "a\n"
}
task "file" "b" {
  path    = "ROOT/b"
  content = "b\n"
  when    = host.facts.arch
}
`)
	rec := &recorder{}
	r := Apply(context.Background(), p, localOpts, rec)
	if r[0].Unreachable == nil || !strings.Contains(r[0].Unreachable.Error(), "host local: ") ||
		!strings.Contains(r[0].Unreachable.Error(), "plan.hcl line 13, column 13: Invalid when: when must be true or false") {
		t.Errorf("error: %v", r[0].Unreachable)
	}
	if _, err := os.Stat(filepath.Join(root, "a")); err == nil {
		t.Error("a task ran")
	}
}

// A plan whose tasks read host.facts only in their when is surveyed in one
// round trip: the probes of those tasks go with the facts. The facts still
// decide: the task for another architecture does not run, and the unless
// of a command whose when is false is not run either, not even as a probe.
func TestFactsInWhenCostNoRoundTrip(t *testing.T) {
	arch := localArch(t)
	const plain = `
task "file" "a" {
  path    = "ROOT/a"
  content = "a\n"
}
`
	whenOnly := plain + `
task "file" "mine" {
  path    = "ROOT/mine"
  content = "mine\n"
  when    = host.facts.arch == "` + arch + `"
}
task "file" "other" {
  path    = "ROOT/other"
  content = "x\n"
  when    = host.facts.arch == "no-such-arch"
}
task "command" "other" {
  command = "true"
  unless  = "touch ROOT/unless-ran"
  when    = host.facts.arch == "no-such-arch"
}
`
	trips := func(src string) (plan, apply int32, root string) {
		p, root := localPlan(t, src)
		o, n, asked := countingOpts()
		if hp := Plan(context.Background(), p, o); hp[0].Err != nil {
			t.Fatal(hp[0].Err)
		}
		if asked.Load() != 1 {
			t.Errorf("plan asked for the facts %d times", asked.Load())
		}
		plan = n.Swap(0)
		p, _ = localPlan(t, strings.ReplaceAll(src, "ROOT", root))
		rec := &recorder{}
		if r := Apply(context.Background(), p, o, rec); r[0].Failed > 0 || r[0].Unreachable != nil {
			t.Fatalf("apply %+v", r[0])
		}
		if src != plain {
			if got := rec.statuses(); got != "file.a=changed file.mine=changed" {
				t.Errorf("apply: %s", got)
			}
		}
		return plan, n.Load(), root
	}
	plainPlan, plainApply, _ := trips(plain)
	whenPlan, whenApply, root := trips(whenOnly)
	if plainPlan != 1 || whenPlan != 1 {
		t.Errorf("plan: %d round trips without facts, %d with facts in when", plainPlan, whenPlan)
	}
	if whenApply != plainApply {
		t.Errorf("apply: %d round trips without facts, %d with facts in when", plainApply, whenApply)
	}
	for _, name := range []string{"other", "unless-ran"} {
		if _, err := os.Stat(filepath.Join(root, name)); err == nil {
			t.Errorf("%s exists: a task for another architecture ran", name)
		}
	}
}
