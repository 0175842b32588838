package lint

import (
	"strings"
	"testing"
)

func TestSSHDPort(t *testing.T) {
	sshd := hostFile("/etc/ssh/sshd_config", debianSSHD)
	facts := []string{"L alice", userLine("alice", "alice,sudo"), sshd}
	for _, c := range []struct{ name, conf, refused string }{
		{"the host's port", "Port 2222\n", ""},
		{"another port", "Port 50022\n", "sshd-port file.sshd"},
		{"the host's port among others", "Port 50022\nPort 2222\n", ""},
		{"no Port", "PermitRootLogin no\n", ""},
	} {
		h := hostOf(t, aliceHost+sshdTask("sshd", "/etc/ssh/sshd_config.d/10-hako.conf", c.conf))
		ref, _ := run(t, h, nil, facts...)
		wantFindings(t, c.name, ref, c.refused)
	}
	h := hostOf(t, aliceHost+sshdTask("sshd", "/etc/ssh/sshd_config.d/10-hako.conf", "Port 50022\n"))
	ref, _ := run(t, h, nil, facts...)
	mustMention(t, ref[0], "file.sshd makes sshd listen on port 50022", "the host's port is 2222", "bootstrap { port = 2222 }")
	ref, warn := run(t, h, map[string]bool{CheckSSHDPort: true}, facts...)
	if len(ref) != 0 || len(warn) == 0 {
		t.Errorf("-allow-risky sshd-port: refusals %v warnings %v", ref, warn)
	}
}

// A port that comes from sensitive content is not quoted in the refusal.
func TestSSHDPortSensitive(t *testing.T) {
	facts := []string{"L alice", userLine("alice", "alice,sudo"), hostFile("/etc/ssh/sshd_config", debianSSHD)}
	h := hostOf(t, aliceHost+`
variable "port" {
  type      = string
  default   = "50022"
  sensitive = true
}

task "file" "sshd" {
  path    = "/etc/ssh/sshd_config.d/10-hako.conf"
  content = "Port ${var.port}\n"
}
`)
	ref, _ := run(t, h, nil, facts...)
	wantFindings(t, "sensitive port", ref, "sshd-port file.sshd")
	mustMention(t, ref[0], "file.sshd makes sshd listen on port (sensitive)", "the host's port is 2222")
	if strings.Contains(ref[0].Message, "50022") {
		t.Errorf("the sensitive port is shown: %s", ref[0].Message)
	}
}
