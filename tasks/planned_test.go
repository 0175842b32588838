package tasks

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/ufw"
)

// kindSamples are sample changes that a kind's own test file adds in an
// init, so that a new kind brings its sample with it.
var kindSamples = map[string]*Change{}

// sampleChanges has a change of every kind, with the kind's planned value
// filled in as its Check would.
func sampleChanges() map[string]*Change {
	yes := true
	return map[string]*Change{
		"file": {Address: Address{"file", "motd"}, Action: Update, Summary: "update /etc/motd",
			Attrs:   []AttrChange{{"mode", "0644", "0600"}, {"leftover temp file", "/etc/.motd.hako-1", ""}},
			Content: NewContentChange("/etc/motd", []byte("old\n"), []byte("new\n"), false),
			Planned: &FilePlan{Exists: true, UID: 1000, GID: 1000, Mode: 0o600, Write: true, Leftovers: []string{"/etc/.motd.hako-1"}}},
		"directory": {Address: Address{"directory", "app"}, Action: Create, Summary: "create /opt/app",
			Attrs: []AttrChange{{"mode", "", "0755"}}},
		"command": {Address: Address{"command", "marker"}, Action: Run, Summary: "run `touch /x`"},
		"package": {Address: Address{"package", "tools"}, Action: Create, Summary: "install curl",
			Attrs: []AttrChange{{"curl", "absent", "present"}}, Planned: &PackagePlan{Names: []string{"curl"}, Update: true}},
		"service": {Address: Address{"service", "app"}, Action: Update, Summary: "update app.service",
			Attrs:   []AttrChange{{"enabled", "disabled", "true"}, {"state", "inactive", "started"}},
			Planned: &ServicePlan{DaemonReload: true, Enable: &yes, State: "started"}},
		"user": {Address: Address{"user", "deploy"}, Action: Update, Summary: "update user deploy",
			Attrs: []AttrChange{{"groups", "", "sudo"}, {"authorized key", "", "(sensitive key)"}},
			Planned: &UserPlan{AddGroups: []string{"sudo"}, SSHDir: true, WriteKeys: true, WriteRule: true,
				Keys: []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHunter2HUNTER2hunter2 secret-comment\n"), Home: "/home/deploy", Primary: "deploy"}},
		"ufw": {Address: Address{"ufw", "firewall"}, Action: Update, Summary: "update ufw: add 1 rule, IPV6=yes",
			Attrs: []AttrChange{{"IPV6", "no", "yes"}, {"rule", "", "allow 22/tcp from any (ssh)"}},
			Planned: &UFWPlan{Installed: true, Before: [][]string{{"disable"}},
				Defaults: &UFWDefaultsFile{Content: "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\n", Mode: 0o640, Owner: "0", Group: "0"},
				Commands: [][]string{{"allow", "22/tcp", "comment", "ssh"}, {"--force", "enable"}},
				Final: map[ufw.Family][]ufw.Rule{
					ufw.V4: {{Key: ufw.Key{Proto: "tcp", DPort: "22", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "allow", Comment: "ssh"}},
					ufw.V6: {{Key: ufw.Key{Proto: "tcp", DPort: "22", Dst: "any", SPort: "any", Src: "any", Dir: "in"}, Action: "allow", Comment: "ssh"}},
				}}},
	}
}

func roundTrip(t *testing.T, c *Change) (*Change, string) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("%s: marshal: %v", c.Address, err)
	}
	var got Change
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: unmarshal: %v\n%s", c.Address, err, b)
	}
	return &got, string(b)
}

// Every kind's change comes back from JSON as it was, its planned value as
// the kind's own type; only what must not be written out is missing.
func TestChangeRoundTripEveryKind(t *testing.T) {
	samples := sampleChanges()
	maps.Copy(samples, kindSamples)
	for _, kind := range KindNames() {
		c, ok := samples[kind]
		if !ok {
			t.Errorf("no sample change for the kind %q: add one", kind)
			continue
		}
		k, _ := LookupKind(kind)
		if (c.Planned != nil) != (k.NewPlanned != nil) {
			t.Errorf("%s: sample planned %T, but NewPlanned is set: %v", kind, c.Planned, k.NewPlanned != nil)
		}
		if c.Planned != nil && reflect.TypeOf(c.Planned) != reflect.TypeOf(k.NewPlanned()) {
			t.Errorf("%s: planned is %T, NewPlanned makes %T", kind, c.Planned, k.NewPlanned())
		}
		got, text := roundTrip(t, c)
		want := *c
		if !got.FromJSON() {
			t.Errorf("%s: a change read from JSON does not say so", kind)
		}
		want.decoded = true
		if p, ok := c.Planned.(*UserPlan); ok {
			// authorized_keys holds the host's lines and perhaps secrets.
			if strings.Contains(text, "hunter2") || strings.Contains(text, "secret-comment") {
				t.Errorf("user: authorized_keys written to JSON: %s", text)
			}
			cp := *p
			cp.Keys = nil
			want.Planned = &cp
		}
		if p, ok := c.Planned.(*NMConnectionPlan); ok {
			// The keyfile holds the connection's secrets.
			if strings.Contains(text, "hunter2") {
				t.Errorf("nm_connection: the keyfile written to JSON: %s", text)
			}
			cp := *p
			cp.Keyfile = nil
			want.Planned = &cp
		}
		if p, ok := c.Planned.(*UFWPlan); ok {
			// /etc/default/ufw is 0640 here: its content is not written.
			if strings.Contains(text, "DROP") {
				t.Errorf("ufw: the content of a file others cannot read written to JSON: %s", text)
			}
			cp, f := *p, *p.Defaults
			f.Content = ""
			cp.Defaults = &f
			want.Planned = &cp
		}
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("%s: round trip:\n got %#v\nwant %#v\njson %s", kind, got, &want, text)
		}
	}
}

func TestChangeJSONShape(t *testing.T) {
	_, text := roundTrip(t, sampleChanges()["package"])
	want := `{"address":{"kind":"package","name":"tools"},"action":"create","summary":"install curl",` +
		`"attrs":[{"name":"curl","before":"absent","after":"present"}],"planned":{"names":["curl"],"update":true}}`
	if text != want {
		t.Errorf("json\n got %s\nwant %s", text, want)
	}
}

func TestChangeJSONErrors(t *testing.T) {
	for _, in := range []string{
		`{"address":{"kind":"nosuch","name":"x"},"action":"create","planned":{}}`,
		`{"address":{"kind":"directory","name":"x"},"action":"create","planned":{}}`,
		`{"address":{"kind":"file","name":"x"},"action":"explode"}`,
		`{"address":{"kind":"file","name":"x"},"action":"create","planned":{"mode":"rw"}}`,
	} {
		var c Change
		if err := json.Unmarshal([]byte(in), &c); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

// Content changes: what Diff hides is not written to JSON, and the change
// read back shows the same Diff.
func TestContentChangeJSON(t *testing.T) {
	bin := []byte{0, 1, 2, 0xff, '\n'}
	for _, tc := range []struct {
		name   string
		c      *ContentChange
		want   *ContentChange // after the round trip
		absent []string       // must not be in the JSON text
	}{
		{name: "text", c: NewContentChange("/etc/motd", []byte("old\n"), []byte("new\n"), false)},
		{name: "new file", c: NewContentChange("/etc/motd", nil, []byte(""), false)},
		{name: "binary", c: NewContentChange("/bin/x", bin, []byte("text\n"), false)},
		{name: "sensitive",
			c:      NewContentChange("/etc/app.env", []byte("TOKEN=old\nA=1\n"), []byte("TOKEN=hunter2\n"), true),
			want:   &ContentChange{path: "/etc/app.env", sensitive: true, lines: &[2]int{2, 1}},
			absent: []string{"hunter2", "TOKEN"}},
		{name: "sensitive unread",
			c:      newUnreadContentChange("/etc/app.env", 9000, "abcdef0123456789", []byte("TOKEN=hunter2\n"), true),
			want:   &ContentChange{path: "/etc/app.env", sensitive: true, unread: true, lines: &[2]int{0, 1}},
			absent: []string{"hunter2", "abcdef", "9000"}},
		{name: "private",
			c:      NewContentChange("/etc/shadowish", []byte("root:oldsecret\n"), []byte("root:x\n"), false).hostMode(0o600),
			want:   &ContentChange{path: "/etc/shadowish", after: []byte("root:x\n"), private: true, lines: &[2]int{1, 1}},
			absent: []string{"oldsecret"}},
		{name: "private unread",
			c:      newUnreadContentChange("/etc/big", 5000000, "feedface0000", []byte("x\n"), false).hostMode(0o640),
			want:   &ContentChange{path: "/etc/big", after: []byte("x\n"), private: true, unread: true},
			absent: []string{"feedface", "5000000"}},
		{name: "unread", c: newUnreadContentChange("/var/big", 5000000, "feedface0000", bin, false)},
	} {
		b, err := json.Marshal(tc.c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, s := range tc.absent {
			if strings.Contains(string(b), s) {
				t.Errorf("%s: %q written: %s", tc.name, s, b)
			}
		}
		var got ContentChange
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := tc.want
		if want == nil {
			want = tc.c
		}
		if !reflect.DeepEqual(&got, want) {
			t.Errorf("%s: round trip\n got %#v\nwant %#v\njson %s", tc.name, &got, want, b)
		}
		if got.Diff() != tc.c.Diff() {
			t.Errorf("%s: diff after round trip\n got %s\nwant %s", tc.name, got.Diff(), tc.c.Diff())
		}
	}
}

// runRecorder records the commands run on it.
type runRecorder struct {
	hosts.Host
	cmds []string
}

func (r *runRecorder) Run(_ context.Context, cmd string) (hosts.Result, error) {
	r.cmds = append(r.cmds, cmd)
	return hosts.Result{}, nil
}

// A service's Apply works from its planned value: reload for a unit that
// was unknown, then enable or disable, then start or stop.
func TestServiceApplyFromPlan(t *testing.T) {
	yes, no := true, false
	task := &Service{addr: Address{"service", "app"}, name: "app.service"}
	for _, tc := range []struct {
		plan ServicePlan
		want string
	}{
		{ServicePlan{DaemonReload: true, Enable: &yes, State: "started"}, "systemctl daemon-reload && systemctl enable -- 'app.service' && systemctl start -- 'app.service'"},
		{ServicePlan{Enable: &no, State: "stopped"}, "systemctl disable -- 'app.service' && systemctl stop -- 'app.service'"},
		{ServicePlan{State: "started"}, "systemctl start -- 'app.service'"},
	} {
		h := &runRecorder{}
		c := &Change{Planned: &tc.plan}
		if err := task.Apply(context.Background(), h, c); err != nil {
			t.Fatal(err)
		}
		if len(h.cmds) != 1 || h.cmds[0] != tc.want {
			t.Errorf("%+v: ran %q, want %q", tc.plan, h.cmds, tc.want)
		}
	}
}
