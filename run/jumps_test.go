package run

import (
	"context"
	"errors"
	"testing"

	"github.com/hako-dev/hako/hosts"
)

// -hash-known-hosts reaches the jump hosts too: their entries are
// recorded hashed like the host's, and -reprovision stays the host's own.
func TestJumpHostsHashedAndNeverReprovisioned(t *testing.T) {
	var got hosts.Config
	o := Options{HashKnownHosts: true, Reprovision: map[string]bool{"pi": true},
		Dial: func(_ context.Context, cfg hosts.Config) (hosts.Host, error) {
			got = cfg
			return nil, errors.New("not dialing")
		}}
	_, _ = o.dialNoting(t.Context(), hosts.Config{Name: "pi", Jumps: []hosts.Config{{Name: "outer"}, {Name: "bastion"}}}, func(string) {})
	if !got.HashKnownHosts || len(got.Jumps) != 2 {
		t.Fatalf("host: %+v", got)
	}
	for _, j := range got.Jumps {
		if !j.HashKnownHosts || j.Reprovision || j.AcceptNewHostKeys {
			t.Errorf("jump host %q: hash %v, reprovision %v, accept new %v; want hashed only", j.Name, j.HashKnownHosts, j.Reprovision, j.AcceptNewHostKeys)
		}
	}
}
