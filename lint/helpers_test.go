package lint

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/plantest"
	"github.com/hako-dev/hako/plan"
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

// stateOf answers h's probes as a fresh host would (no files, user
// probes saying: root, logged in as pi, no such user), and the facts probe
// with facts.
func stateOf(t *testing.T, h *plan.Host, facts ...string) *tasks.State {
	t.Helper()
	var ps []tasks.Probe
	for _, s := range h.Steps {
		ps = append(ps, s.Task.Probes()...)
	}
	ps = append(ps, Probes(h)...)
	_, order := tasks.Script(ps)
	var b strings.Builder
	for i, p := range order {
		switch {
		case p.Kind == tasks.ProbeOut && p.Arg == factsScript(h):
			fmt.Fprintf(&b, "O %d 0 %s\n", i, b64(strings.Join(facts, "\n")+"\n"))
		case p.Kind == tasks.ProbeOut:
			fmt.Fprintf(&b, "O %d 0 %s\n", i, b64("U 0 pi\nS -\n"))
		case p.Kind == tasks.ProbeStat:
			fmt.Fprintf(&b, "S %d -\n", i)
		case p.Kind == tasks.ProbeRead:
			fmt.Fprintf(&b, "C %d -\n", i)
		case p.Kind == tasks.ProbeLeftovers:
			fmt.Fprintf(&b, "T %d -\n", i)
		default:
			fmt.Fprintf(&b, "X %d 1\n", i)
		}
	}
	st, err := tasks.ParseAnswers([]byte(b.String()), order)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Fact lines as the facts probe prints them.
func hostFile(path, content string) string { return "F " + path + " " + b64(content) }

func userLine(name, groups string) string { return "U " + name + " " + groups }

func keysLine(name, content string) string { return "K " + name + " " + b64(content) }

// socketUnit is `systemctl show` of ssh.socket and NetworkManager.service.
func units(sockFileState, sockActive, nmActive string) []string {
	return []string{"Y Id=ssh.socket", "Y ActiveState=" + sockActive, "Y UnitFileState=" + sockFileState,
		"Y Listen=[::]:22 (Stream)", "Y ", "Y Id=NetworkManager.service", "Y ActiveState=" + nmActive,
		"Y UnitFileState=", "Y Listen="}
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

// run lints h against facts with the allowed checks.
func run(t *testing.T, h *plan.Host, allow map[string]bool, facts ...string) (refusals, warnings []Finding) {
	t.Helper()
	return Run(h, stateOf(t, h, facts...), allow)
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
