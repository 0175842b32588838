package tasks

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func init() {
	kindSamples["sysctl"] = &Change{Address: Address{"sysctl", "forwarding"}, Action: Update, Summary: "net.ipv4.ip_forward = 1",
		Attrs:   []AttrChange{{"value", "0", "1"}},
		Content: NewContentChange("/etc/sysctl.d/60-net.conf", []byte("vm.swappiness = 10\n"), []byte("vm.swappiness = 10\nnet.ipv4.ip_forward = 1\n"), false),
		Planned: &SysctlPlan{Live: "0", SetLive: true, Write: true, Mode: 0o644, Owner: "0", Group: "0"}}
}

// decodeSysctlPlan decodes the sysctl task block src the way the plan
// package does (the kind's schema, then its decoder), with literal values.
func decodeSysctlPlan(t *testing.T, src string) (*Sysctl, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "plan.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "task", LabelNames: []string{"kind", "name"}}}})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		t.Fatalf("no task block: %v", diags)
	}
	b := content.Blocks[0]
	k, _ := LookupKind("sysctl")
	bc, diags := b.Body.Content(k.Schema)
	a := &attrs.Attrs{Kind: "sysctl", Name: b.Labels[1], Decl: b.DefRange, Items: map[string]attrs.Attr{}}
	for name, at := range bc.Attributes {
		v, d := at.Expr.Value(nil)
		diags = diags.Extend(d)
		a.Items[name] = attrs.Attr{Value: v, Range: at.Expr.Range()}
	}
	task := k.Decode(a)
	return task.(*Sysctl), diags.Extend(a.Diags)
}

func mustSysctl(t *testing.T, body string) *Sysctl {
	t.Helper()
	s, diags := decodeSysctlPlan(t, "task \"sysctl\" \"fwd\" {\n"+body+"\n}\n")
	if diags.HasErrors() {
		t.Fatalf("decode: %v", diags)
	}
	return s
}

// Bad input is an error at its expression (file:line:column) that says
// what is wrong.
func TestSysctlDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		body string
		at   string // where the diagnostic points
		want string
	}{
		{`  name = "net..ipv4"
  value = 1`, "plan.hcl:2,10-21", "none is empty"},
		{`  name = "net.ipv4.conf.//.rp_filter"
  value = 1`, "plan.hcl:2,10-38", `the part "//" names no folder of /proc/sys`},
		{`  name = "net.ipv4.conf./.rp_filter"
  value = 1`, "plan.hcl:2,10-37", `the part "/" names no folder`},
		{`  name = "net.ipv4.conf.x/../rp_filter"
  value = 1`, "plan.hcl:2,10-40", "none is empty"},
		{`  name = "Net.ipv4.ip_forward"
  value = 1`, "plan.hcl:2,10-31", "does not start with a lowercase letter"},
		{`  name = "kernel"
  value = 1`, "plan.hcl:2,10-18", "write its whole dotted name"},
		{`  name = "net.ipv4.ip forward"
  value = 1`, "plan.hcl:2,10-31", "letters, digits"},
		{`  name = "net.ipv4.ip_forward"`, "plan.hcl:1,21-21", `The argument "value" is required`},
		{`  value = 1`, "plan.hcl:1,21-21", `The argument "name" is required`},
		{`  name = "net.ipv4.ip_forward"
  value = true`, "plan.hcl:3,11-15", "not true or false"},
		{`  name = "net.ipv4.ip_forward"
  value = " "`, "plan.hcl:3,11-14", "must not be empty"},
		{`  name = "net.ipv4.ip_forward"
  value = "bbr\ncubic"`, "plan.hcl:3,11-23", "one line"},
		{`  name = "net.ipv4.ip_forward"
  value = 1
  file = "/etc/hako.conf"`, "plan.hcl:4,10-26", "/etc/sysctl.conf or a file NAME.conf in /etc/sysctl.d"},
		{`  name = "net.ipv4.ip_forward"
  value = 1
  file = "/etc/sysctl.d/x.txt"`, "plan.hcl:4,10-31", "NAME.conf"},
		{`  name = "net.ipv4.ip_forward"
  value = 1
  file = "etc/sysctl.d/x.conf"`, "plan.hcl:4,10-31", "absolute path"},
		{`  name = "net.ipv4.ip_forward"
  value = 1
  apply = "sometimes"`, "plan.hcl:4,11-22", "bool"},
	} {
		_, diags := decodeSysctlPlan(t, "task \"sysctl\" \"fwd\" {\n"+tc.body+"\n}\n")
		if len(diags) != 1 {
			t.Errorf("%s: %d diagnostics, want 1: %v", tc.body, len(diags), diags)
			continue
		}
		d := diags[0]
		if d.Subject == nil || d.Subject.String() != tc.at || !strings.Contains(d.Summary+": "+d.Detail, tc.want) {
			t.Errorf("%s:\n got %v: %s: %s\nwant %s: …%s…", tc.body, d.Subject, d.Summary, d.Detail, tc.at, tc.want)
		}
	}
}

func TestSysctlDecode(t *testing.T) {
	for _, tc := range []struct {
		body             string
		value, file, dir string
		apply            bool
	}{
		{`name = "net.ipv4.ip_forward"
value = 1`, "1", "/etc/sysctl.d/99-hako-fwd.conf", "/proc/sys/net/ipv4/ip_forward", true},
		{`name = "net.ipv4.ip_local_port_range"
value = "  1024   65000 "
file = "/etc/sysctl.d/60-ports.conf"
apply = false`, "1024\t65000", "/etc/sysctl.d/60-ports.conf", "/proc/sys/net/ipv4/ip_local_port_range", false},
		{`name = "net.ipv4.conf.eth0/100.rp_filter"
value = "2"
file = "/etc/sysctl.conf"`, "2", "/etc/sysctl.conf", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter", true},
		// Words keep their spacing; only the ends are trimmed.
		{`name = "net.ipv4.tcp_allowed_congestion_control"
value = " reno  cubic "`, "reno  cubic", "/etc/sysctl.d/99-hako-fwd.conf", "/proc/sys/net/ipv4/tcp_allowed_congestion_control", true},
		{`name = "vm.swappiness"
value = 1.5e1`, "15", "/etc/sysctl.d/99-hako-fwd.conf", "/proc/sys/vm/swappiness", true},
	} {
		s := mustSysctl(t, tc.body)
		if s.value != tc.value || s.file != tc.file || s.procPath() != tc.dir || s.apply != tc.apply {
			t.Errorf("%s:\n got value %q file %s path %s apply %v\nwant value %q file %s path %s apply %v",
				tc.body, s.value, s.file, s.procPath(), s.apply, tc.value, tc.file, tc.dir, tc.apply)
		}
	}
}

// sysctlHost is what the probes see: the live value (nil: no such
// parameter) and the file (nil: missing).
type sysctlHost struct {
	live     *string
	file     *string
	fileMode int
}

func ptr(s string) *string { return &s }

func checkSysctl(t *testing.T, s *Sysctl, h sysctlHost) (*Change, error) {
	t.Helper()
	f := probe.NewFake()
	if h.live != nil {
		f.Set(probe.Stat{Path: s.procPath()}, FileInfo{Exists: true, Type: "regular file", Mode: 0o644, User: "root", Group: "root"})
		f.Set(probe.File{Path: s.procPath()}, Content{Readable: true, Data: []byte(*h.live)})
	} else {
		f.Set(probe.Stat{Path: s.procPath()}, FileInfo{})
		f.Set(probe.File{Path: s.procPath()}, Content{})
	}
	if h.file != nil {
		mode := h.fileMode
		if mode == 0 {
			mode = 0o644
		}
		f.Set(probe.Stat{Path: s.file}, FileInfo{Exists: true, Type: "regular file", Mode: mode, User: "root", Group: "adm", UID: 0, GID: 4, Size: int64(len(*h.file))})
		f.Set(probe.File{Path: s.file}, Content{Readable: true, Data: []byte(*h.file)})
	} else {
		f.Set(probe.Stat{Path: s.file}, FileInfo{})
		f.Set(probe.File{Path: s.file}, Content{})
	}
	a, err := f.Answer(s.Probes())
	if err != nil {
		t.Fatal(err)
	}
	return s.Check(NewState(a), Env{})
}

func TestSysctlCheck(t *testing.T) {
	fwd := `name = "net.ipv4.ip_forward"
value = 1`
	ports := `name = "net.ipv4.ip_local_port_range"
value = "1024 65000"
file = "/etc/sysctl.d/60-net.conf"`
	for _, tc := range []struct {
		name    string
		body    string
		host    sysctlHost
		action  Action
		attrs   []AttrChange
		content string // the file's new content; "" when unchanged
		plan    SysctlPlan
	}{
		{name: "fresh", body: fwd, host: sysctlHost{live: ptr("0\n")}, action: Create,
			attrs:   []AttrChange{{"value", "0", "1"}, {"mode", "", "0644"}},
			content: "net.ipv4.ip_forward = 1\n",
			plan:    SysctlPlan{Live: "0", SetLive: true, Write: true, Mode: 0o644, Owner: "root", Group: "root"}},
		{name: "live right, no file", body: fwd, host: sysctlHost{live: ptr("1\n")}, action: Create,
			attrs: []AttrChange{{"mode", "", "0644"}}, content: "net.ipv4.ip_forward = 1\n",
			plan: SysctlPlan{Live: "1", Write: true, Mode: 0o644, Owner: "root", Group: "root"}},
		{name: "file right, live differs", body: fwd, host: sysctlHost{live: ptr("0\n"), file: ptr("net.ipv4.ip_forward = 1\n")}, action: Update,
			attrs: []AttrChange{{"value", "0", "1"}}, plan: SysctlPlan{Live: "0", SetLive: true}},
		{name: "nothing to do", body: fwd, host: sysctlHost{live: ptr("1\n"), file: ptr("net.ipv4.ip_forward = 1\n")}, action: NoOp,
			plan: SysctlPlan{Live: "1"}},
		{name: "the file's own spelling", body: fwd, host: sysctlHost{live: ptr("1\n"), file: ptr("# forwarding\n -net/ipv4/ip_forward=1\n")}, action: NoOp,
			plan: SysctlPlan{Live: "1"}},
		{name: "other lines kept, duplicates dropped", body: fwd,
			host:    sysctlHost{live: ptr("1\n"), file: ptr("vm.swappiness=10\nnet.ipv4.ip_forward=0\n# net.ipv4.ip_forward = 0\nnet.ipv4.ip_forward = 1\nkernel.panic = 5")},
			action:  Update,
			content: "vm.swappiness=10\nnet.ipv4.ip_forward = 1\n# net.ipv4.ip_forward = 0\nkernel.panic = 5",
			plan:    SysctlPlan{Live: "1", Write: true, Mode: 0o644, Owner: "0", Group: "4"}},
		{name: "appended, mode and owner kept", body: fwd,
			host:    sysctlHost{live: ptr("1\n"), file: ptr("vm.swappiness = 10"), fileMode: 0o664},
			action:  Update,
			content: "vm.swappiness = 10\nnet.ipv4.ip_forward = 1\n",
			plan:    SysctlPlan{Live: "1", Write: true, Mode: 0o664, Owner: "0", Group: "4"}},
		{name: "multi-value, same", body: ports, host: sysctlHost{live: ptr("1024\t65000\n"), file: ptr("net.ipv4.ip_local_port_range = 1024 65000\n")},
			action: NoOp, plan: SysctlPlan{Live: "1024\t65000"}},
		{name: "multi-value, different", body: ports, host: sysctlHost{live: ptr("32768\t60999\n")}, action: Create,
			attrs:   []AttrChange{{"value", "32768 60999", "1024 65000"}, {"mode", "", "0644"}},
			content: "net.ipv4.ip_local_port_range = 1024\t65000\n",
			plan:    SysctlPlan{Live: "32768\t60999", SetLive: true, Write: true, Mode: 0o644, Owner: "root", Group: "root"}},
		{name: "apply = false: live not compared", body: fwd + "\napply = false", host: sysctlHost{live: ptr("0\n"), file: ptr("net.ipv4.ip_forward = 1\n")},
			action: NoOp, plan: SysctlPlan{Live: "0"}},
		{name: "apply = false: a parameter the host lacks yet", body: `name = "net.bridge.bridge-nf-call-iptables"
value = 0
apply = false`, host: sysctlHost{}, action: Create, attrs: []AttrChange{{"mode", "", "0644"}},
			content: "net.bridge.bridge-nf-call-iptables = 0\n",
			plan:    SysctlPlan{Write: true, Mode: 0o644, Owner: "root", Group: "root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSysctl(t, tc.body)
			c, err := checkSysctl(t, s, tc.host)
			if err != nil {
				t.Fatal(err)
			}
			if c.Action != tc.action || !reflect.DeepEqual(c.Attrs, tc.attrs) {
				t.Errorf("got %v %#v, want %v %#v", c.Action, c.Attrs, tc.action, tc.attrs)
			}
			var content string
			if c.Content != nil {
				content = string(c.Content.after)
			}
			if content != tc.content {
				t.Errorf("content\n got %q\nwant %q", content, tc.content)
			}
			if p := c.Planned.(*SysctlPlan); !reflect.DeepEqual(*p, tc.plan) {
				t.Errorf("plan\n got %+v\nwant %+v", *p, tc.plan)
			}
			if tc.action == NoOp && c.Changed() {
				t.Errorf("a task with nothing to do plans %v", c.Action)
			}
		})
	}
}

func TestSysctlCheckErrors(t *testing.T) {
	fwd := `name = "net.ipv4.ip_forward"
value = 1`
	for _, tc := range []struct {
		name string
		body string
		host sysctlHost
		want string
	}{
		{"no such parameter", `name = "net.ipv4.no_such_thing"
value = 1`, sysctlHost{}, "the host has no kernel parameter net.ipv4.no_such_thing (/proc/sys/net/ipv4/no_such_thing is missing)"},
		{"private file", fwd, sysctlHost{live: ptr("1\n"), file: ptr("x = 1\n"), fileMode: 0o600}, "/etc/sysctl.d/99-hako-fwd.conf is not world-readable (mode 0600)"},
	} {
		s := mustSysctl(t, tc.body)
		_, err := checkSysctl(t, s, tc.host)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want …%s…", tc.name, err, tc.want)
		}
	}
	// A folder of parameters, or one that cannot be read.
	s := mustSysctl(t, `name = "net.ipv4.conf"
value = 1`)
	f := probe.NewFake().
		Set(probe.Stat{Path: s.procPath()}, FileInfo{Exists: true, Type: "directory"}).
		Set(probe.File{Path: s.procPath()}, Content{})
	f.Else = probe.Fresh
	a, _ := f.Answer(s.Probes())
	if _, err := s.Check(NewState(a), Env{}); err == nil || !strings.Contains(err.Error(), "is a group of kernel parameters") {
		t.Errorf("folder: %v", err)
	}
	f.Set(probe.Stat{Path: s.procPath()}, FileInfo{Exists: true, Type: "regular file", Mode: 0o200})
	a, _ = f.Answer(s.Probes())
	if _, err := s.Check(NewState(a), Env{}); err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Errorf("write-only: %v", err)
	}
	// A parameter only root may read holds a secret (tcp_fastopen_key):
	// refused, and its value is in neither the error nor a change.
	key := mustSysctl(t, `name = "net.ipv4.tcp_fastopen_key"
value = "00000000-00000000-00000000-00000001"`)
	f = probe.NewFake().
		Set(probe.Stat{Path: key.procPath()}, FileInfo{Exists: true, Type: "regular file", Mode: 0o600}).
		Set(probe.File{Path: key.procPath()}, Content{Readable: true, Data: []byte("d2b0e2a4-5f1c9d3e-8a7b6c5d-4e3f2a1b\n")})
	f.Else = probe.Fresh
	a, _ = f.Answer(key.Probes())
	c, err := key.Check(NewState(a), Env{})
	if err == nil || !strings.Contains(err.Error(), "readable by root only") || strings.Contains(err.Error(), "d2b0e2a4") || c != nil {
		t.Errorf("root-only parameter: %v %+v", err, c)
	}
}

// sysctlRecorder records what Apply does on the host.
type sysctlRecorder struct {
	hosts.Host
	did      []string
	writeErr error
	runFail  string // a command that fails
}

func (r *sysctlRecorder) Run(_ context.Context, cmd string) (hosts.Result, error) {
	r.did = append(r.did, "run "+cmd)
	if cmd == r.runFail {
		return hosts.Result{ExitCode: 255, Stderr: []byte("sysctl: setting key: Invalid argument\n")}, nil
	}
	return hosts.Result{}, nil
}

func (r *sysctlRecorder) WriteFile(_ context.Context, w hosts.FileWrite) error {
	r.did = append(r.did, "write "+w.Path+" "+w.Mode.String()+" "+w.Owner+":"+w.Group+" "+string(w.Content))
	return r.writeErr
}

// Apply sets the live value before it writes the file: a value the kernel
// refuses leaves the file as it was, and a file that cannot be written has
// the live value set back.
func TestSysctlApply(t *testing.T) {
	s := mustSysctl(t, `name = "net.ipv4.ip_local_port_range"
value = "1024 65000"`)
	c, err := checkSysctl(t, s, sysctlHost{live: ptr("32768\t60999\n")})
	if err != nil {
		t.Fatal(err)
	}
	set := "run sysctl -q -w -- 'net.ipv4.ip_local_port_range=1024\t65000'"
	back := "run sysctl -q -w -- 'net.ipv4.ip_local_port_range=32768\t60999'"
	write := "write /etc/sysctl.d/99-hako-fwd.conf -rw-r--r-- root:root net.ipv4.ip_local_port_range = 1024\t65000\n"

	h := &sysctlRecorder{}
	if err := s.Apply(context.Background(), h, c); err != nil {
		t.Fatal(err)
	}
	if want := []string{set, write}; !reflect.DeepEqual(h.did, want) {
		t.Errorf("did\n%q\nwant\n%q", h.did, want)
	}

	h = &sysctlRecorder{runFail: strings.TrimPrefix(set, "run ")}
	err = s.Apply(context.Background(), h, c)
	if err == nil || !strings.Contains(err.Error(), "Invalid argument") || len(h.did) != 1 {
		t.Errorf("refused value: %v; did %q", err, h.did)
	}

	h = &sysctlRecorder{writeErr: errors.New("disk full")}
	err = s.Apply(context.Background(), h, c)
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "was set back to \"32768 60999\"") {
		t.Errorf("failed write: %v", err)
	}
	if want := []string{set, write, back}; !reflect.DeepEqual(h.did, want) {
		t.Errorf("did\n%q\nwant\n%q", h.did, want)
	}

	// apply = false: the file alone.
	s.apply = false
	if c, err = checkSysctl(t, s, sysctlHost{live: ptr("32768\t60999\n")}); err != nil {
		t.Fatal(err)
	}
	h = &sysctlRecorder{}
	if err := s.Apply(context.Background(), h, c); err != nil || !reflect.DeepEqual(h.did, []string{write}) {
		t.Errorf("apply = false: %v; did %q", err, h.did)
	}
}

// The change comes back from JSON as it was, and Apply works from the
// change read back.
func TestSysctlChangeJSON(t *testing.T) {
	s := mustSysctl(t, `name = "net.ipv4.ip_forward"
value = 1`)
	c, err := checkSysctl(t, s, sysctlHost{live: ptr("0\n"), file: ptr("vm.swappiness = 10\n")})
	if err != nil {
		t.Fatal(err)
	}
	got, text := roundTrip(t, c)
	want := *c
	want.decoded = true
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("round trip\n got %#v\nwant %#v\njson %s", got, &want, text)
	}
	for _, want := range []string{`"kind":"sysctl"`, `"planned":{"live":"0","set_live":true,"write":true,"mode":"0644","owner":"0","group":"4"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("json lacks %s: %s", want, text)
		}
	}
	h := &sysctlRecorder{}
	if err := s.Apply(context.Background(), h, got); err != nil {
		t.Fatal(err)
	}
	if want := []string{"run sysctl -q -w -- 'net.ipv4.ip_forward=1'",
		"write /etc/sysctl.d/99-hako-fwd.conf -rw-r--r-- 0:4 vm.swappiness = 10\nnet.ipv4.ip_forward = 1\n"}; !reflect.DeepEqual(h.did, want) {
		t.Errorf("did\n%q\nwant\n%q", h.did, want)
	}
}

func TestSysctlLine(t *testing.T) {
	for line, want := range map[string][2]string{
		"net.ipv4.ip_forward = 1\n":            {"net.ipv4.ip_forward", "1"},
		"  -net.ipv4.ip_forward=1":             {"net.ipv4.ip_forward", "1"},
		"net/ipv4/conf/eth0.100/rp_filter = 2": {"net.ipv4.conf.eth0/100.rp_filter", "2"},
		"net.ipv4.conf.eth0/100.rp_filter = 2": {"net.ipv4.conf.eth0/100.rp_filter", "2"},
		"net.ipv4.ip_local_port_range=1 2\t3 ": {"net.ipv4.ip_local_port_range", "1 2\t3"},
	} {
		k, v, ok := sysctlLine(line)
		if !ok || k != want[0] || v != want[1] {
			t.Errorf("%q: got %q %q %v, want %q", line, k, v, ok, want)
		}
	}
	for _, line := range []string{"", "  ", "# a = 1", "; a = 1", "net.ipv4.ip_forward"} {
		if k, _, ok := sysctlLine(line); ok {
			t.Errorf("%q: read as setting %q", line, k)
		}
	}
}

// A network parameter set live is a change that can cut the connection,
// which -confirm guards by saving the file; one set at the next boot only,
// or outside net.*, cuts nothing now.
func TestSysctlCapabilities(t *testing.T) {
	for body, want := range map[string]Cuts{
		"name = \"net.ipv4.ip_forward\"\nvalue = 1":                CutsNetwork,
		"name = \"net.ipv4.ip_forward\"\nvalue = 1\napply = false": 0,
		"name = \"vm.swappiness\"\nvalue = 10":                     0,
	} {
		var task Task = mustSysctl(t, body)
		c, ok := task.(Cutter)
		if !ok {
			t.Fatal("sysctl is not a Cutter")
		}
		if got := c.Cuts(Env{}); got != want {
			t.Errorf("%s: cuts %v, want %v", body, got, want)
		}
		w, ok := task.(PathWriter)
		if !ok {
			t.Fatal("sysctl is not a PathWriter")
		}
		if got := w.WrittenPaths(); !reflect.DeepEqual(got, []string{"/etc/sysctl.d/99-hako-fwd.conf"}) {
			t.Errorf("%s: writes %q", body, got)
		}
	}
}
