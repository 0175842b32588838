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
	st := loadScenario(t, "inactive-fresh").state(t, u)
	env := Env{Endpoint: hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}, MoveTo: 2222}
	c, err := strict(u.Check(st, env))
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	lines := strings.Join(attrLines(c), "\n")
	if !strings.Contains(lines, "allow 22/tcp from 10.213.0.1 ("+ufw.TemporaryComment+")") ||
		!strings.Contains(lines, "allow 2222/tcp from any") {
		t.Errorf("change:\n%s", lines)
	}
	// Without the move the same plan is a lockout.
	env.MoveTo = 0
	if _, err := strict(u.Check(st, env)); err == nil {
		t.Error("without a move, blocking port 22 must be refused")
	}
}

func TestUFWMigrationRefusesAnUnallowedNewPort(t *testing.T) {
	u := mustUFW(t, "rule {\n port = 80\n}\n")
	st := loadScenario(t, "inactive-fresh").state(t, u)
	_, err := strict(u.Check(st, Env{Endpoint: hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}, MoveTo: 2222}))
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

// ufw-lockout: the change carries a refusal that names its check, and is
// what the task does when the run overrides it (-allow-risky ufw-lockout),
// with and without a move.
func TestUFWLockoutOverridden(t *testing.T) {
	u := mustUFW(t, "rule {\n port = 80\n}\n")
	st := loadScenario(t, "inactive-fresh").state(t, u)
	for _, move := range []int{0, 2222} {
		c, err := u.Check(st, Env{Endpoint: hosts.Endpoint{ClientAddr: "10.213.0.1", ServerPort: 22}, MoveTo: move})
		if err != nil || len(c.Refusals) == 0 {
			t.Fatalf("move %d: %v %+v", move, err, c)
		}
		for _, r := range c.Refusals {
			if r.Check != CheckUFWLockout || !strings.HasSuffix(r.Error(), "(check ufw-lockout; -allow-risky ufw-lockout overrides it)") {
				t.Errorf("move %d: refusal %v", move, r)
			}
		}
		if !c.Changed() || !strings.Contains(strings.Join(attrLines(c), "\n"), "allow 80 from any") {
			t.Errorf("move %d, overridden: %+v", move, c)
		}
	}
}
