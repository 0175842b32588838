package tasks

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// A unit systemd does not know yet (its package comes in an earlier task)
// is "not installed yet", whether systemctl prints nothing (systemd 252,
// bookworm) or "not-found" (254 and later, trixie); Apply then reloads
// systemd before enabling it.
func TestServiceUnknownUnit(t *testing.T) {
	for _, enabled := range []string{"", "not-found"} {
		task := decode(t, "service", map[string]cty.Value{"name": str("hako-demo"), "enabled": cty.True, "state": str("started")})
		c, err := task.Check(answered(t, task, unit("systemd", enabled, "inactive")), Env{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(c.Summary, "(not installed yet)") || !c.Planned.(*ServicePlan).DaemonReload {
			t.Errorf("is-enabled %q: %+v", enabled, c)
		}
	}
}
