package lint

import (
	"fmt"
	"testing"
)

func TestPendingRollback(t *testing.T) {
	h := hostOf(t, aliceHost+sshdTask("motd", "/etc/motd", "hi\n"))
	facts := func(guard string) []string { return []string{"L alice", userLine("alice", "alice,sudo"), guard} }
	now := int64(1_790_000_000)
	for _, c := range []struct {
		name, guard, refused string
	}{
		{"none", "", ""},
		{"fires in 5 minutes", fmt.Sprintf("G 20261126T084123-613fad47b826638a %d 600000 %d", now-300, now), "pending-rollback"},
		{"just past its deadline", fmt.Sprintf("G 20261126T084123-613fad47b826638a %d 600000 %d", now-620, now), "pending-rollback"},
		{"stale: its timer died long ago", fmt.Sprintf("G 20261126T084123-613fad47b826638a %d 600000 %d", now-3600, now), ""},
		{"unparsable", "G x - 600000 1", ""},
	} {
		ref, _ := run(t, h, nil, facts(c.guard)...)
		wantFindings(t, c.name, ref, c.refused)
	}
	ref, _ := run(t, h, nil, facts(fmt.Sprintf("G 20261126T084123-613fad47b826638a %d 600000 %d", now-300, now))...)
	mustMention(t, ref[0], "guard 20261126T084123-613fad47b826638a", "fires in 5m0s", "sudo sh /var/lib/hako/guard/20261126T084123-613fad47b826638a/rollback disarm")
	ref, warn := run(t, h, map[string]bool{CheckPendingRollback: true}, facts(fmt.Sprintf("G a %d 600000 %d", now-300, now))...)
	if len(ref) != 0 || len(warn) == 0 {
		t.Errorf("-allow-risky pending-rollback: refusals %v warnings %v", ref, warn)
	}
}
