package hosts

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Work as another user waits while another write holds the user's
// client; a cancelled or timed-out run must stop waiting, not hang.
func TestOpsAsWaitHonoursContext(t *testing.T) {
	h := &SSHHost{name: "pi", become: true}
	if err := h.users.take(context.Background()); err != nil { // another write's turn
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := h.opsAs(ctx, 1000)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("opsAs: %v, want the context's error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("opsAs still waits a minute after its context ended")
	}
	// The holder's turn ends; the next taker gets it.
	h.users.give()
	if err := h.users.take(context.Background()); err != nil {
		t.Fatal(err)
	}
}
