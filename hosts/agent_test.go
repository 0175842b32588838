package hosts

import "testing"

// Where the agent is looked for, on Windows and elsewhere: the Windows
// OpenSSH agent's pipe when SSH_AUTH_SOCK is unset (Windows only), a pipe
// named by SSH_AUTH_SOCK, else SSH_AUTH_SOCK as a Unix socket.
func TestAgentAddress(t *testing.T) {
	type want struct {
		addr string
		pipe bool
	}
	for _, c := range []struct {
		env           string
		windows, unix want
	}{
		{"", want{`\\.\pipe\openssh-ssh-agent`, true}, want{"", false}},
		{`\\.\pipe\openssh-ssh-agent`, want{`\\.\pipe\openssh-ssh-agent`, true}, want{`\\.\pipe\openssh-ssh-agent`, false}},
		{`\\.\PIPE\keeagent`, want{`\\.\PIPE\keeagent`, true}, want{`\\.\PIPE\keeagent`, false}},
		{`//./pipe/openssh-ssh-agent`, want{`//./pipe/openssh-ssh-agent`, true}, want{`//./pipe/openssh-ssh-agent`, false}},
		{`C:\Users\me\agent.sock`, want{`C:\Users\me\agent.sock`, false}, want{`C:\Users\me\agent.sock`, false}},
		{"/tmp/ssh-XYZ/agent.42", want{"/tmp/ssh-XYZ/agent.42", false}, want{"/tmp/ssh-XYZ/agent.42", false}},
		{`\\.\pipe\`, want{`\\.\pipe\`, false}, want{`\\.\pipe\`, false}},
	} {
		for _, os := range []struct {
			windows bool
			want    want
		}{{true, c.windows}, {false, c.unix}} {
			addr, pipe := agentAddress(c.env, os.windows)
			if (want{addr, pipe}) != os.want {
				t.Errorf("SSH_AUTH_SOCK=%q (windows %v): %q pipe %v, want %+v", c.env, os.windows, addr, pipe, os.want)
			}
		}
	}
}
