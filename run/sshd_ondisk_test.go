package run

import (
	"errors"
	"os"
	"strings"
	"testing"
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
		unknown   bool
	}{
		{name: "allowed", out: head + clean},
		{name: "denied", out: head + string(dump), want: "denyusers pi (lists pi)"},
		{name: "denied, sensitive", out: head + string(dump), sensitive: true, want: "denyusers (sensitive; lists pi)"},
		{name: "denied by group", out: head + clean + "denygroups adm\n", want: "denygroups adm (names a group of pi's)"},
		{name: "socket-activated", out: "hako-sshd: valid\nhako-sshd-conn: 10.213.0.1 10.213.0.12 22\nhako-sshd-socket: yes\nhako-sshd-T:\n" +
			strings.ReplaceAll(clean, ":22\n", ":2200\n")},
		{name: "invalid", out: "hako-sshd: invalid\n/etc/ssh/sshd_config.d/20-listen.conf: line 1: Bad configuration option: Bogus\n/etc/ssh/sshd_config.d/20-listen.conf: terminating, 1 bad configuration options\n",
			want: "sshd -t: /etc/ssh/sshd_config.d/20-listen.conf: line 1: Bad configuration option: Bogus"},
		{name: "invalid, sensitive", out: "hako-sshd: invalid\nline 1: secret\n", sensitive: true,
			want: "sshd -t refuses it (its message is not shown: a file under /etc/ssh holds sensitive content)"},
		{name: "no sshd", out: "hako-sshd: none\n", unknown: true},
		{name: "no connection", out: "hako-sshd: noconn\n", unknown: true},
		{name: "sshd -T failed", out: "hako-sshd: valid\nhako-sshd-conn: 10.213.0.1 10.213.0.12 22\nhako-sshd-T:\nbad match\nhako-sshd-T-failed: 255\n", unknown: true},
		{name: "a ForceCommand ran", out: ""},
		{name: "something else printed", out: "hello\ndenyusers pi\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := judgeSSHDAnswer([]byte(c.out), "pi", c.sensitive)
			var unknown errSSHDUnknown
			if errors.As(err, &unknown) != c.unknown || (err != nil && !c.unknown) {
				t.Fatalf("err %v, want unknown %v", err, c.unknown)
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
