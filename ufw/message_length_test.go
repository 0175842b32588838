package ufw

import (
	"strings"
	"testing"
)

// The error for a rule `ufw insert` cannot place stays under 300
// characters with long but realistic values: a rule declared deep in a
// plan's firewall file, two application rules on the host (one whose
// name has a space), a commented SSH rule. It still names the rule, the
// host's rule it belongs before, the application rules and the command
// that deletes one.
func TestInsertErrorIsShort(t *testing.T) {
	hf := hostWith(t, "allow udp 137,138 0.0.0.0/0 any 0.0.0.0/0 CIFS - in", "allow tcp 139,445 0.0.0.0/0 any 0.0.0.0/0 CIFS - in",
		"allow tcp 80,443 0.0.0.0/0 any 0.0.0.0/0 Nginx%20Full - in",
		"allow any 80 0.0.0.0/0 any 0.0.0.0/0 in", "allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737368")
	g := goal(t, false, spec{port: "80"},
		spec{port: "8081", proto: "tcp", action: "deny", from: "192.168.178.0/24"}, spec{port: "22", proto: "tcp", comment: "ssh"})
	g.Rules[1].Where = "rule 12 (plans/pi-home-server/firewall.hcl:143)"
	_, err := Converge(hf.host(t), g)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	t.Logf("%d: %s", len(msg), msg)
	if len(msg) > 300 {
		t.Errorf("%d characters: %s", len(msg), msg)
	}
	for _, s := range []string{"rule 12 (plans/pi-home-server/firewall.hcl:143)", `"deny 8081/tcp from 192.168.178.0/24"`,
		`"allow 22/tcp from 0.0.0.0/0 (ssh)"`, "CIFS, Nginx Full", "`ufw delete allow CIFS`"} {
		if !strings.Contains(msg, s) {
			t.Errorf("no %q in: %s", s, msg)
		}
	}
}
