package preflight

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/internal/plantest"
	"github.com/hako-dev/hako/plan"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
	"golang.org/x/crypto/ssh"
)

// The host blocks of the tests: hako logs in as pi, or (a fresh card) as
// the bootstrap user pi on 22 while the plan's user is alice on 2222.
const (
	piHost = `host "pi" {
  address = "192.0.2.10"
  user    = "pi"
  become  = true
}
`
	aliceHost = `host "pi" {
  address = "192.0.2.10"
  port    = 2222
  user    = "alice"
  become  = true
  bootstrap {
    port = 22
    user = "pi"
  }
}
`
)

// hostOf builds a plan from HCL source and returns its one host.
func hostOf(t *testing.T, src string) *plan.Host { return plantest.Build(t, src).Hosts[0] }

// hostFacts is what the tests' host answers to preflight's probes.
type hostFacts struct {
	login    string
	units    map[string]probe.UnitInfo
	devices  map[string]string
	configs  probe.ConfigFiles
	accounts map[string]*probe.AccountInfo
	guards   []guard.PendingGuard
	facts    probe.HostFacts
}

// fact is one thing the host says.
type fact func(*hostFacts)

// stateOf answers h's probes as a fresh host would (no files, commands
// fail, no such user, root probing), except for what facts say.
func stateOf(t *testing.T, h *plan.Host, facts ...fact) *tasks.State {
	t.Helper()
	hf := &hostFacts{units: map[string]probe.UnitInfo{}, configs: probe.ConfigFiles{Data: map[string][]byte{}, Unreadable: map[string]bool{}},
		accounts: map[string]*probe.AccountInfo{}}
	for _, f := range facts {
		if f != nil {
			f(hf)
		}
	}
	fake := probe.NewFake().Set(probe.Login{}, probe.LoginInfo{Name: hf.login}).Set(probe.NetDevices{}, hf.devices).
		Set(probe.Configs{Patterns: factFiles}, hf.configs).Set(guard.Pending{}, hf.guards).Set(probe.Facts{}, hf.facts)
	for n, u := range hf.units {
		fake.Set(probe.Unit{Name: n}, u)
	}
	for n, a := range hf.accounts {
		fake.Set(probe.Account{Name: n}, *a)
		if n == hf.login {
			fake.Set(probe.Account{}, *a)
		}
	}
	fake.Else = probe.Fresh
	var ps []tasks.Probe
	for _, s := range h.Steps {
		ps = append(ps, s.Task.Probes()...)
	}
	a, err := fake.Answer(append(ps, Probes(h)...))
	if err != nil {
		t.Fatal(err)
	}
	return tasks.NewState(a)
}

// The facts the tests give.
func login(name string) fact { return func(h *hostFacts) { h.login = name } }

func hostFile(path, content string) fact {
	return func(h *hostFacts) { h.configs.Data[path] = []byte(content) }
}

func unreadable(path string) fact { return func(h *hostFacts) { h.configs.Unreadable[path] = true } }

func (h *hostFacts) account(name string) *probe.AccountInfo {
	if h.accounts[name] == nil {
		h.accounts[name] = &probe.AccountInfo{Name: name}
	}
	return h.accounts[name]
}

// absent: the user does not exist.
func absent(name string) fact { return func(h *hostFacts) { h.account(name) } }

// userLine: the user exists, in groups (comma-separated, primary first).
func userLine(name, groups string) fact {
	return func(h *hostFacts) {
		a := h.account(name)
		a.Exists, a.Home = true, "/home/"+name
		a.Groups = strings.Split(groups, ",")
		a.Primary = a.Groups[0]
	}
}

// keysLine: the user's authorized_keys holds content.
func keysLine(name, content string) fact {
	return func(h *hostFacts) {
		a := h.account(name)
		a.KeyFile = probe.FileInfo{Exists: true, Type: "regular file", Mode: 0o600, User: name, Group: name}
		a.Keys, a.KeysRead = []byte(content), true
	}
}

// keysUnreadable: the user cannot read its authorized_keys.
func keysUnreadable(name string) fact {
	return func(h *hostFacts) {
		a := h.account(name)
		a.KeyFile = probe.FileInfo{Exists: true, Type: "regular file", Mode: 0o600, User: "root", Group: "root"}
		a.KeysUnreadable = true
	}
}

func device(name, state string) fact {
	return func(h *hostFacts) {
		if h.devices == nil {
			h.devices = map[string]string{}
		}
		h.devices[name] = state
	}
}

// pendingGuard: a guard armed at the epoch second armed for ms
// milliseconds, on a host whose clock says now.
func pendingGuard(id string, armed, ms, now int64) fact {
	return func(h *hostFacts) {
		h.guards = append(h.guards, guard.PendingGuard{ID: id,
			Deadline: time.Unix(armed, 0).Add(time.Duration(ms) * time.Millisecond), Now: time.Unix(now, 0)})
	}
}

// units are the states of ssh.socket (listening on [::]:22) on a systemd
// host, and whether NetworkManager runs (nmActive "active").
func units(sockFileState, sockActive, nmActive string) []fact {
	return []fact{func(h *hostFacts) {
		h.units["ssh.socket"] = probe.UnitInfo{Init: "systemd", Enabled: sockFileState, Active: sockActive, Listen: []string{"[::]:22"}}
		h.facts.Init = "systemd"
		h.facts.NetworkStacks.NetworkManager = nmActive == "active"
	}}
}

// debianSSHD is the top of bookworm's sshd_config.
const debianSSHD = `# This is the sshd server system-wide configuration file.
Include /etc/ssh/sshd_config.d/*.conf

#Port 22
#PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
Subsystem	sftp	/usr/lib/openssh/sftp-server
`

// pubKey is a fresh authorized_keys line.
func pubKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " me@laptop"
}

// run lints h against facts, with the tasks' own refusals as their checks
// find them; a refusal whose check is in allow comes back as a warning
// that says so, as the run's policy does.
func run(t *testing.T, h *plan.Host, allow map[string]bool, facts ...fact) (refusals, warnings []Finding) {
	t.Helper()
	st := stateOf(t, h, facts...)
	var own []Finding
	for _, s := range h.Steps {
		c, err := s.Task.Check(st, tasks.Env{})
		own = append(own, TaskFindings(s.Task.Address(), tasks.RefusalsOf(c, err))...)
	}
	found, rest := Run(h, st, own)
	for _, f := range found {
		if allow[f.Check] {
			f.Overridden = true
			warnings = append(warnings, f)
		} else {
			refusals = append(refusals, f)
		}
	}
	return refusals, append(warnings, rest...)
}

// checks lists the findings as "check task", for comparing.
func checks(fs []Finding) string {
	var out []string
	for _, f := range fs {
		s := f.Check
		if f.Task != (tasks.Address{}) {
			s += " " + f.Task.String()
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func wantFindings(t *testing.T, what string, got []Finding, want string) {
	t.Helper()
	if checks(got) != want {
		t.Errorf("%s: %q, want %q\n%v", what, checks(got), want, got)
	}
}

func mustMention(t *testing.T, f Finding, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(f.String(), s) {
			t.Errorf("%s lacks %q", f, s)
		}
	}
}

// only keeps the findings of check.
func only(fs []Finding, check string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}
