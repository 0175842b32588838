package report

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/preflight"
	"github.com/hako-dev/hako/run"
	"github.com/hako-dev/hako/tasks"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name + ".golden"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func samplePlan() []*run.HostPlan {
	pi := &plan.Host{Name: "pi", Conn: hosts.Config{Address: "10.213.0.10", Port: 22, User: "pi"}}
	web := &plan.Host{Name: "web", Conn: hosts.Config{Address: "10.213.0.11", Port: 2222, User: "admin"}}
	changes := []*tasks.Change{
		{Address: tasks.Address{Kind: "directory", Name: "app"}, Action: tasks.Create, Summary: "create /opt/app",
			Attrs: []tasks.AttrChange{{Name: "mode", After: "0750"}, {Name: "owner", After: "root"}}},
		{Address: tasks.Address{Kind: "file", Name: "motd"}, Action: tasks.Update, Summary: "update /etc/motd",
			Content: tasks.NewContentChange("/etc/motd", []byte("old\nsame\n"), []byte("hello\nsame\n"), false),
			Planned: &tasks.FilePlan{Exists: true, Mode: 0o644, Write: true}},
		{Address: tasks.Address{Kind: "file", Name: "secret"}, Action: tasks.Update, Summary: "update /etc/app.env",
			Attrs:   []tasks.AttrChange{{Name: "mode", Before: "0644", After: "0600"}},
			Content: tasks.NewContentChange("/etc/app.env", []byte("TOKEN=old\n"), []byte("TOKEN=hunter2\n"), true)},
		{Address: tasks.Address{Kind: "command", Name: "marker"}, Action: tasks.Run, Summary: "run `touch /x`"},
		{Address: tasks.Address{Kind: "file", Name: "same"}, Summary: "/etc/same"},
	}
	hp := &run.HostPlan{Host: pi}
	for _, c := range changes {
		hp.Changes = append(hp.Changes, &run.StepChange{Change: c})
	}
	return []*run.HostPlan{hp, {Host: web, Err: errors.New(`host web: cannot connect to 10.213.0.11:2222: connection refused`)}}
}

func TestPlanOutput(t *testing.T) {
	var b strings.Builder
	sum := NewHumanPlan(&b, Style{}).Plan(samplePlan())
	if sum != (PlanSummary{ToChange: 4, Unchanged: 1, Errors: 1}) {
		t.Errorf("summary %+v", sum)
	}
	if strings.Contains(b.String(), "hunter2") {
		t.Fatal("sensitive content printed")
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("color codes without color")
	}
	golden(t, "plan", b.String())
}

// Preflight's lockout checks in plan output: warnings under the host line, and a
// task with two refusals as one error whose lines are indented.
func TestPlanWarningsAndRefusals(t *testing.T) {
	var b strings.Builder
	if sum := NewHumanPlan(&b, Style{}).Plan([]*run.HostPlan{lintPlan()}); sum != (PlanSummary{Unchanged: 1, Errors: 1}) {
		t.Errorf("summary %+v", sum)
	}
	golden(t, "plan-preflight", b.String())
}

func lintPlan() *run.HostPlan {
	pi := &plan.Host{Name: "pi", Conn: hosts.Config{Address: "10.213.0.10", Port: 22, User: "pi"}}
	sshd := tasks.Address{Kind: "file", Name: "sshd"}
	hp := &run.HostPlan{Host: pi, Notes: []string{"port 2222 refused the connection"}, Warnings: []preflight.Finding{
		{Check: "dhcpcd-networkmanager", Task: tasks.Address{Kind: "file", Name: "dhcpcd"}, Message: "file.dhcpcd writes /etc/dhcpcd.conf, but NetworkManager is running on this host"},
		{Check: "ufw-lockout", Task: tasks.Address{Kind: "ufw", Name: "firewall"}, Message: "ufw.firewall would lock hako out of the host", Overridden: true},
	}}
	refused := []preflight.Finding{
		{Check: "password-auth-without-key", Task: sshd, Message: `file.sshd sets "PasswordAuthentication no"`},
		{Check: "socket-activated-port", Task: sshd, Message: `file.sshd sets "Port 2222"`},
	}
	hp.Changes = []*run.StepChange{
		{Step: &plan.Step{Task: fakeTask{sshd}}, Err: errors.Join(refused[0].Err(), refused[1].Err())},
		{Change: &tasks.Change{Address: tasks.Address{Kind: "file", Name: "motd"}, Summary: "/etc/motd"}},
	}
	return hp
}

// The JSON view: one document with the same data as the human view, the
// changes as tasks.Change writes them (so they read back), and no secret.
func TestPlanJSON(t *testing.T) {
	var b strings.Builder
	hps := samplePlan()
	sum := NewJSONPlan(&b).Plan(hps)
	if sum != (PlanSummary{ToChange: 4, Unchanged: 1, Errors: 1}) {
		t.Errorf("summary %+v", sum)
	}
	if strings.Contains(b.String(), "hunter2") || strings.Contains(b.String(), "TOKEN") {
		t.Fatalf("sensitive content written:\n%s", b.String())
	}
	var doc struct {
		FormatVersion string `json:"format_version"`
		Hosts         []struct {
			Name    string          `json:"name"`
			Error   string          `json:"error"`
			Changes []*tasks.Change `json:"changes"`
		} `json:"hosts"`
		Summary PlanSummary `json:"summary"`
	}
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, b.String())
	}
	if doc.FormatVersion != "1" || len(doc.Hosts) != 2 || doc.Summary != sum {
		t.Fatalf("document %+v", doc)
	}
	if doc.Hosts[1].Error == "" || len(doc.Hosts[1].Changes) != 0 {
		t.Errorf("host web: %+v", doc.Hosts[1])
	}
	got := doc.Hosts[0].Changes
	if len(got) != len(hps[0].Changes) {
		t.Fatalf("%d changes, want %d", len(got), len(hps[0].Changes))
	}
	for i, c := range got {
		want := hps[0].Changes[i].Change
		if c.Address != want.Address || c.Action != want.Action || c.Summary != want.Summary ||
			!reflect.DeepEqual(c.Attrs, want.Attrs) || !reflect.DeepEqual(c.Planned, want.Planned) {
			t.Errorf("change %d:\n got %+v\nwant %+v", i, c, want)
		}
		if (c.Content == nil) != (want.Content == nil) || c.Content != nil && c.Content.Diff() != want.Content.Diff() {
			t.Errorf("change %d: content differs", i)
		}
	}
	golden(t, "plan.json", b.String())
}

// Refused tasks and warnings in the JSON view.
func TestPlanJSONWarningsAndRefusals(t *testing.T) {
	var b strings.Builder
	sum := NewJSONPlan(&b).Plan([]*run.HostPlan{lintPlan()})
	if sum != (PlanSummary{Unchanged: 1, Errors: 1}) {
		t.Errorf("summary %+v", sum)
	}
	golden(t, "plan-preflight.json", b.String())
}

func TestPlanOutputColor(t *testing.T) {
	var b strings.Builder
	NewHumanPlan(&b, Style{Color: true}).Plan(samplePlan())
	for _, want := range []string{green + "+hello" + reset, red + "-old" + reset} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("colored output lacks %q", want)
		}
	}
}

func TestApplyLinesAndRecap(t *testing.T) {
	step := func(kind, name string) *plan.Step {
		return &plan.Step{Task: fakeTask{tasks.Address{Kind: kind, Name: name}}}
	}
	var b strings.Builder
	p := NewProgress(&b, Style{}, []string{"pi", "webserver"})
	p.Result(run.Result{Host: "pi", Step: step("directory", "app"), Status: run.OK})
	p.Result(run.Result{Host: "pi", Step: step("file", "motd"), Status: run.Changed,
		Change: &tasks.Change{Summary: "update /etc/motd"}})
	p.Result(run.Result{Host: "webserver", Step: step("command", "x"), Status: run.Failed, Err: errors.New("exit status 1: boom\nsecond line")})
	p.Result(run.Result{Host: "webserver", Step: step("file", "y"), Status: run.Skipped})
	p.Result(run.Result{Host: "pi", Step: step("handler", "reload_motd"), Handler: true, Status: run.Changed})
	p.Note("webserver", "a task failed; running the handlers of the tasks that changed anyway")
	p.Warning("pi", "sshd is socket-activated on this host (check ssh-socket)")
	Recap(&b, []*run.Recap{{Host: "pi", OK: 3, Changed: 2, Skipped: 1}, {Host: "webserver", Failed: 1, Skipped: 1}}, Style{})
	golden(t, "apply", b.String())
}

// The recap line has exactly the documented shape.
func TestRecapShape(t *testing.T) {
	var b strings.Builder
	Recap(&b, []*run.Recap{{Host: "pi", OK: 3, Changed: 2, Skipped: 1}}, Style{Color: true})
	if !strings.Contains(b.String(), "\npi  ok=3 changed=2 failed=0 skipped=1\n") {
		t.Errorf("recap %q", b.String())
	}
}

type fakeTask struct{ addr tasks.Address }

func (f fakeTask) Address() tasks.Address                               { return f.addr }
func (fakeTask) Probes() []tasks.Probe                                  { return nil }
func (fakeTask) Check(*tasks.State, tasks.Env) (*tasks.Change, error)   { return &tasks.Change{}, nil }
func (fakeTask) Apply(context.Context, hosts.Host, *tasks.Change) error { return nil }
