package hosts

import (
	"path/filepath"
	"testing"
	"time"
)

// A peer that stops answering: after ServerAliveCountMax unanswered
// keepalives the connection is closed and commands fail instead of hanging.
func TestServerAliveClosesADeadConnection(t *testing.T) {
	f := newFixture(t, func(s *testServer) { s.deaf = true })
	f.cfg.ServerAliveInterval, f.cfg.ServerAliveCountMax = 50*time.Millisecond, 2
	h := f.dial(t)
	done := make(chan error, 1)
	go func() { done <- h.client.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the connection is still open after 20 s of unanswered keepalives")
	}
	if _, err := h.Run(t.Context(), "true"); err == nil {
		t.Error("Run worked on a closed connection")
	}
}

// A peer that answers (OpenSSH replies "failure") stays connected.
func TestServerAliveKeepsALiveConnection(t *testing.T) {
	f := newFixture(t)
	f.cfg.ServerAliveInterval, f.cfg.ServerAliveCountMax = 20*time.Millisecond, 1
	h := f.dial(t)
	time.Sleep(300 * time.Millisecond) // 15 keepalives
	if res, err := h.Run(t.Context(), "echo alive"); err != nil || string(res.Stdout) != "alive\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
}

// IdentitiesOnly: the agent's other keys are not offered.
func TestIdentitiesOnly(t *testing.T) {
	f := newFixture(t)
	_, other := newEd25519(t)
	startAgent(t, f.userPriv)
	f.cfg.IdentityFiles = []string{writeKeyFile(t, filepath.Join(f.dir, "id_wrong"), other, "")}
	f.dial(t) // the agent's key gets its turn
	f.cfg.IdentitiesOnly = true
	_, err := Dial(t.Context(), f.cfg)
	wantContains(t, err, "authentication failed", "no other ssh-agent keys (IdentitiesOnly)")

	// An encrypted identity file still signs through the agent.
	f.cfg.IdentityFiles = []string{writeKeyFile(t, filepath.Join(f.dir, "id_enc"), f.userPriv, "secret")}
	f.dial(t)
}
