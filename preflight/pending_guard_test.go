package preflight

import "testing"

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
	mustMention(t, ref[0], "guard 20261126T084123-613fad47b826638a", "fires in 5m0s", "sudo sh /var/lib/hako/guard/20261126T084123-613fad47b826638a/rollback disarm")
	ref, warn := run(t, h, map[string]bool{CheckPendingRollback: true}, facts(pendingGuard("a", now-300, 600000, now))...)
	if len(ref) != 0 || len(warn) == 0 {
		t.Errorf("-allow-risky pending-rollback: refusals %v warnings %v", ref, warn)
	}
}
