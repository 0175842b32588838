package guard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hako-dev/hako/guard"
	"github.com/hako-dev/hako/hosts"
)

// forcedHost answers every command as a session whose command sshd
// replaced does: with out and exit 0 (ForceCommand /bin/true, say).
type forcedHost struct {
	hosts.Host
	out string
}

func (forcedHost) Name() string { return "pi" }
func (f forcedHost) Run(context.Context, string) (hosts.Result, error) {
	return hosts.Result{Stdout: []byte(f.out)}, nil
}

// Disarm counts only when the disarm script said it ran: an exit status of
// 0 from a session that ran something else leaves the rollback armed, and
// a confirmation must not be taken from it.
func TestDisarmNeedsItsOwnWord(t *testing.T) {
	const id = "20260101T000000-0123456789abcdef"
	for _, out := range []string{"", "hako guard: disarmed 20260101T000000-fffffffffffffff\n", "motd\n"} {
		err := guard.Resume(id).Disarm(context.Background(), forcedHost{out: out})
		if err == nil || !strings.Contains(err.Error(), "did not run") {
			t.Errorf("output %q: Disarm returned %v", out, err)
		}
	}
	if err := guard.Resume(id).Disarm(context.Background(), forcedHost{out: "hako guard: disarmed " + id + "\n"}); err != nil {
		t.Errorf("Disarm that ran: %v", err)
	}
}
