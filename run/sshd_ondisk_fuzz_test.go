package run

import (
	"os"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/fuzzbound"
)

// canary stands for sensitive content in a file under /etc/ssh: sshd
// may quote it in what it prints.
const canary = "hakoCanary"

// FuzzSSHDAnswer feeds arbitrary host output to judgeSSHDAnswer, which
// reads what the host says of its sshd (sshd -t's message, sshd -T's
// dump, how the host sees the connection, the user's groups): no panic,
// and when a file under /etc/ssh holds sensitive content, nothing sshd
// printed of it reaches the refusal or the error (the canary, wherever
// the output holds it, never shows).
func FuzzSSHDAnswer(f *testing.F) {
	dump, err := os.ReadFile("../preflight/testdata/sshd-T-bookworm-denyusers.txt")
	if err != nil {
		f.Fatal(err)
	}
	head := "hako-sshd: valid\nhako-sshd-conn: 10.213.0.1 10.213.0.12 22\nhako-sshd-groups: pi adm " + canary + "\nhako-sshd-T:\n"
	for _, s := range []string{
		head + string(dump),
		head + strings.ReplaceAll(string(dump), "denyusers pi\n", "denyusers "+canary+" pi\n"),
		head + strings.ReplaceAll(string(dump), "denyusers pi\n", "denygroups "+canary+"\n"),
		head + strings.ReplaceAll(string(dump), "denyusers pi\n", "allowusers "+canary+"\n"),
		head + strings.ReplaceAll(string(dump), "port 22\n", "port 2200\nlistenaddress "+canary+":22\n"),
		head + strings.ReplaceAll(string(dump), "denyusers pi\n", "authenticationmethods "+canary+"\n"),
		"hako-sshd: invalid\n/etc/ssh/sshd_config.d/x.conf line 1: Bad configuration option: " + canary + "\n",
		head + canary + " line 1\nhako-sshd-T-failed: 255\n",
		"hako-sshd: none\n",
		"hako-sshd: noconn\n",
		"",
	} {
		f.Add([]byte(s), "pi")
	}
	f.Fuzz(func(t *testing.T, out []byte, user string) {
		defer fuzzbound.Start()()
		why, _, err := judgeSSHDAnswer(out, user, true)
		if strings.Contains(user, canary) {
			return
		}
		if strings.Contains(why, canary) {
			t.Errorf("the refusal quotes sensitive content: %q", why)
		}
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("the error quotes sensitive content: %v", err)
		}
	})
}
