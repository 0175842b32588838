package tasks

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/ufw"
)

// Moving SSH from 22 to 2222 over the bootstrap connection: the plan
// allows only 2222, so the port in use stays open through a temporary rule.
func TestUFWMigrationKeepsThePortInUse(t *testing.T) {
	u := mustUFW(t, "exclusive = true\nrule {\n port = 2222\n proto = \"tcp\"\n}\n")
	st := loadScenario(t, "inactive-fresh").state(t, u, hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
	st.MigrateTo = 2222
	c, err := u.Check(st)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	lines := strings.Join(attrLines(c), "\n")
	if !strings.Contains(lines, "allow 22/tcp from 10.213.0.1 ("+ufw.TemporaryComment+")") ||
		!strings.Contains(lines, "allow 2222/tcp from any") {
		t.Errorf("change:\n%s", lines)
	}
	// Without the move the same plan is a lockout.
	st.MigrateTo = 0
	if _, err := u.Check(st); err == nil {
		t.Error("without a move, blocking port 22 must be refused")
	}
}

func TestUFWMigrationRefusesAnUnallowedNewPort(t *testing.T) {
	u := mustUFW(t, "rule {\n port = 80\n}\n")
	st := loadScenario(t, "inactive-fresh").state(t, u, hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
	st.MigrateTo = 2222
	_, err := u.Check(st)
	var r *Refusal
	if !errorsAs(err, &r) || !strings.Contains(r.Reason, "port 2222") || !strings.Contains(r.Reason, "moves SSH from port 22 to port 2222") {
		t.Errorf("err = %v", err)
	}
}

// After the move, a non-exclusive task deletes the temporary rule.
func TestUFWTemporaryRuleIsDeletedAfterTheMove(t *testing.T) {
	u := mustUFW(t, "rule {\n port = 2222\n proto = \"tcp\"\n}\n")
	tuple := "allow tcp 22 0.0.0.0/0 any 10.213.0.1 in comment=" + hex.EncodeToString([]byte(ufw.TemporaryComment))
	hf := loadScenario(t, "active-seed").with(ufw.RulesPath, tuple)
	c := checkUFW(t, u, hf, hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 2222})
	if lines := strings.Join(attrLines(c), "\n"); !strings.Contains(lines, `"allow 22/tcp from 10.213.0.1 (`+ufw.TemporaryComment+`)" → ""`) {
		t.Errorf("change:\n%s", lines)
	}
}

// -allow-risky ufw-lockout: the refusal names its check, and with the
// check allowed the task goes ahead, with and without a move.
func TestUFWLockoutOverridden(t *testing.T) {
	u := mustUFW(t, "rule {\n port = 80\n}\n")
	st := loadScenario(t, "inactive-fresh").state(t, u, hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22})
	for _, move := range []int{0, 2222} {
		st.MigrateTo, st.AllowRisky = move, nil
		_, err := u.Check(st)
		var r *Refusal
		if !errorsAs(err, &r) || r.Check != CheckUFWLockout ||
			!strings.HasSuffix(err.Error(), "(check ufw-lockout; -allow-risky ufw-lockout overrides it)") {
			t.Errorf("move %d: err = %v", move, err)
		}
		st.AllowRisky = map[string]bool{"login-user-sudo": true}
		if _, err := u.Check(st); err == nil {
			t.Errorf("move %d: another check's override let it through", move)
		}
		st.AllowRisky = map[string]bool{CheckUFWLockout: true}
		c, err := u.Check(st)
		if err != nil || !c.Changed() || !strings.Contains(strings.Join(attrLines(c), "\n"), "allow 80 from any") {
			t.Errorf("move %d, overridden: %v %+v", move, err, c)
		}
	}
}
