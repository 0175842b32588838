package preflight

import (
	"strings"
	"testing"
)

func TestPendingRollback(t *testing.T) {
	h := hostOf(t, aliceHost+sshdTask("motd", "/etc/motd", "hi\n"))
	facts := func(guard fact) []fact { return []fact{login("alice"), userLine("alice", "alice,sudo"), guard} }
	now := int64(1_790_000_000)
	for _, c := range []struct {
		name    string
		guard   fact
		refused string
	}{
		{"none", nil, ""},
		{"fires in 5 minutes", pendingGuard("20261126T084123-613fad47b826638a", now-300, 600000, now), "pending-rollback"},
		{"just past its deadline", pendingGuard("20261126T084123-613fad47b826638a", now-620, 600000, now), "pending-rollback"},
		{"stale: its timer died long ago", pendingGuard("20261126T084123-613fad47b826638a", now-3600, 600000, now), ""},
	} {
		ref, _ := run(t, h, nil, facts(c.guard)...)
		wantFindings(t, c.name, ref, c.refused)
	}
	ref, _ := run(t, h, nil, facts(pendingGuard("20261126T084123-613fad47b826638a", now-300, 600000, now))...)
	const r = "sudo sh /var/lib/hako/guard/20261126T084123-613fad47b826638a/rollback"
	mustMention(t, ref[0], "fires in 5m0s", "bad or unknown, restore: "+r+" now;", "if good, keep: "+r+" disarm;", "or wait and rerun")
	// Short enough to read in a terminal, with a guard armed for two hours.
	ref, _ = run(t, h, nil, facts(pendingGuard("20261126T084123-613fad47b826638a", now-1, 2*3600*1000, now))...)
	if msg := ref[0].Message; len(msg) > 300 || !strings.Contains(msg, "fires in 1h59m59s") {
		t.Errorf("%d characters: %s", len(msg), msg)
	}
	ref, warn := run(t, h, map[string]bool{CheckPendingRollback: true}, facts(pendingGuard("a", now-300, 600000, now))...)
	if len(ref) != 0 || len(warn) == 0 {
		t.Errorf("-allow-risky pending-rollback: refusals %v warnings %v", ref, warn)
	}
}
