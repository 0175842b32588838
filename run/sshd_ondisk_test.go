package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
)

// judgeSSHDAnswer reads what the host answers to sshdOnDiskScript: a
// refusal names why; a host without sshd, or one that cannot say how it
// sees the connection, is unknown (a note, the login alone decides);
// output that is not the script's (a ForceCommand ran) is left to the
// disarm, which refuses it.
func TestJudgeSSHDAnswer(t *testing.T) {
	dump, err := os.ReadFile("../preflight/testdata/sshd-T-bookworm-denyusers.txt")
	if err != nil {
		t.Fatal(err)
	}
	head := "hako-sshd: valid\nhako-sshd-conn: 10.213.0.1 10.213.0.12 22\nhako-sshd-groups: pi adm sudo\nhako-sshd-T:\n"
	clean := strings.ReplaceAll(string(dump), "denyusers pi\n", "")
	for _, c := range []struct {
		name, out string
		sensitive bool
		want      string
		check     string // the lockout check that covers want
		unknown   bool
	}{
		{name: "allowed", out: head + clean},
		{name: "denied", out: head + string(dump), want: "denyusers pi (lists pi)", check: "sshd-login-user"},
		{name: "denied, sensitive", out: head + string(dump), sensitive: true, want: "denyusers (sensitive; lists pi)", check: "sshd-login-user"},
		{name: "denied by group", out: head + clean + "denygroups adm\n", want: "denygroups adm (names a group of pi's)", check: "sshd-login-user"},
		{name: "socket-activated", out: "hako-sshd: valid\nhako-sshd-conn: 10.213.0.1 10.213.0.12 22\nhako-sshd-socket: yes\nhako-sshd-T:\n" +
			strings.ReplaceAll(clean, ":22\n", ":2200\n")},
		{name: "invalid", out: "hako-sshd: invalid\n/etc/ssh/sshd_config.d/20-listen.conf: line 1: Bad configuration option: Bogus\n/etc/ssh/sshd_config.d/20-listen.conf: terminating, 1 bad configuration options\n",
			want: "sshd -t: /etc/ssh/sshd_config.d/20-listen.conf: line 1: Bad configuration option: Bogus"},
		{name: "port moved", out: head + strings.ReplaceAll(clean, ":22\n", ":2200\n"),
			want: "sshd would listen on [::]:2200, 0.0.0.0:2200, not on 10.213.0.12:22", check: "sshd-port"},
		{name: "other address", out: head + strings.ReplaceAll(clean, "listenaddress [::]:22\nlistenaddress 0.0.0.0:22\n", "listenaddress 127.0.0.1:22\n"),
			want: "sshd would listen on 127.0.0.1:22, not on 10.213.0.12:22"},
		{name: "include loop", out: "hako-sshd: invalid\nToo many recursive configuration includes\n",
			want: "sshd -t: Too many recursive configuration includes", check: "sshd-include"},
		{name: "include loop, sensitive", out: "hako-sshd: invalid\nToo many recursive configuration includes\n", sensitive: true,
			want: "sshd -t refuses it (its message is not shown: a file under /etc/ssh holds sensitive content)", check: "sshd-include"},
		{name: "invalid, sensitive", out: "hako-sshd: invalid\nline 1: secret\n", sensitive: true,
			want: "sshd -t refuses it (its message is not shown: a file under /etc/ssh holds sensitive content)"},
		{name: "no sshd", out: "hako-sshd: none\n", unknown: true},
		{name: "no connection", out: "hako-sshd: noconn\n", unknown: true},
		{name: "sshd -T failed", out: "hako-sshd: valid\nhako-sshd-conn: 10.213.0.1 10.213.0.12 22\nhako-sshd-T:\nbad match\nhako-sshd-T-failed: 255\n", unknown: true},
		{name: "a ForceCommand ran", out: ""},
		{name: "something else printed", out: "hello\ndenyusers pi\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, check, err := judgeSSHDAnswer([]byte(c.out), "pi", c.sensitive)
			var unknown errSSHDUnknown
			if errors.As(err, &unknown) != c.unknown || (err != nil && !c.unknown) {
				t.Fatalf("err %v, want unknown %v", err, c.unknown)
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			if check != c.check {
				t.Errorf("check %q, want %q", check, c.check)
			}
		})
	}
}

// answering is a host whose every command prints out.
type answering struct {
	hosts.Host
	out string
}

func (h answering) Run(context.Context, string) (hosts.Result, error) {
	return hosts.Result{Stdout: []byte(h.out)}, nil
}

// The on-disk judgement honours -allow-risky as the lockout checks do: a
// refusal whose check the run overrides is a warning naming the override
// and the run confirms; one whose check is not overridden, or that no
// check covers, fails the confirmation (and the run rolls back), saying
// which override would force it when one would.
func TestJudgeSSHDOnDiskOverrides(t *testing.T) {
	dump, err := os.ReadFile("../preflight/testdata/sshd-T-bookworm-denyusers.txt")
	if err != nil {
		t.Fatal(err)
	}
	head := "hako-sshd: valid\nhako-sshd-conn: 10.213.0.1 10.213.0.12 22\nhako-sshd-groups: pi adm sudo\nhako-sshd-T:\n"
	clean := strings.ReplaceAll(string(dump), "denyusers pi\n", "")
	const refuse = "sshd's configuration on disk would refuse the next login of pi once sshd restarts: "
	for _, c := range []struct {
		name, out string
		allow     []string
		err       string // "" confirms
		warning   string
	}{
		{name: "denied", out: head + string(dump),
			err: refuse + "denyusers pi (lists pi) (check sshd-login-user; -allow-risky sshd-login-user overrides it)"},
		{name: "denied, overridden", out: head + string(dump), allow: []string{"sshd-login-user"},
			warning: "warning: overridden by -allow-risky sshd-login-user: " + refuse + "denyusers pi (lists pi)"},
		{name: "denied, another check overridden", out: head + string(dump), allow: []string{"sshd-port", "ufw-lockout"},
			err: refuse + "denyusers pi (lists pi) (check sshd-login-user; -allow-risky sshd-login-user overrides it)"},
		{name: "port moved, overridden", out: head + strings.ReplaceAll(clean, ":22\n", ":2200\n"), allow: []string{"sshd-port"},
			warning: "warning: overridden by -allow-risky sshd-port: " + refuse + "sshd would listen on [::]:2200, 0.0.0.0:2200, not on 10.213.0.12:22"},
		{name: "port moved, login user overridden", out: head + strings.ReplaceAll(clean, ":22\n", ":2200\n"), allow: []string{"sshd-login-user"},
			err: refuse + "sshd would listen on [::]:2200, 0.0.0.0:2200, not on 10.213.0.12:22 (check sshd-port; -allow-risky sshd-port overrides it)"},
		{name: "other address, every check overridden", out: head + strings.ReplaceAll(clean, "listenaddress [::]:22\nlistenaddress 0.0.0.0:22\n", "listenaddress 127.0.0.1:22\n"),
			allow: []string{"sshd-login-user", "sshd-port", "sshd-include", "socket-activated-port"},
			err:   refuse + "sshd would listen on 127.0.0.1:22, not on 10.213.0.12:22"},
		{name: "sshd -t fails, every check overridden", out: "hako-sshd: invalid\nline 1: Bad configuration option: Bogus\n",
			allow: []string{"sshd-login-user", "sshd-port", "sshd-include"},
			err:   refuse + "sshd -t: line 1: Bad configuration option: Bogus"},
		{name: "include loop, overridden", out: "hako-sshd: invalid\nToo many recursive configuration includes\n", allow: []string{"sshd-include"},
			warning: "warning: overridden by -allow-risky sshd-include: " + refuse + "sshd -t: Too many recursive configuration includes"},
		{name: "allowed", out: head + clean},
	} {
		t.Run(c.name, func(t *testing.T) {
			allow := map[string]bool{}
			for _, a := range c.allow {
				allow[a] = true
			}
			rec := &recorder{}
			a := &hostApply{host: &plan.Host{Name: "pi", Conn: hosts.Config{User: "pi"}}, conn: &session{allow: allow}, rep: rec}
			err := a.judgeSSHDOnDisk(context.Background(), answering{out: c.out}, false)
			if got := fmt.Sprint(err); (err == nil) != (c.err == "") || err != nil && got != c.err {
				t.Errorf("err %v\nwant %q", err, c.err)
			}
			var want []string
			if c.warning != "" {
				want = []string{c.warning}
			}
			if !slices.Equal(rec.notes, want) {
				t.Errorf("notes %q, want %q", rec.notes, want)
			}
		})
	}
}
