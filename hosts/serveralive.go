package hosts

import (
	"io"
	"time"
)

// startServerAlive is ssh_config's ServerAliveInterval: after each interval
// a keepalive request; when countMax of them in a row get no answer within
// the interval, the connection is closed, which fails every session on it
// instead of leaving them hanging on a dead link. A reply of either kind
// means the peer is alive (OpenSSH answers "failure" to the request).
func (h *SSHHost) startServerAlive(interval time.Duration, countMax int) {
	if interval <= 0 {
		return
	}
	if countMax <= 0 {
		countMax = 3
	}
	go func() {
		missed := 0
		t := time.NewTicker(interval)
		defer t.Stop()
		for range t.C {
			res := make(chan error, 1)
			go func() {
				_, _, err := h.client.SendRequest("keepalive@openssh.com", true, nil)
				res <- err
			}()
			select {
			case err := <-res:
				if err != nil {
					return // closed
				}
				missed = 0
			case <-time.After(interval):
				missed++
				if missed >= countMax {
					h.client.Close()
					return
				}
			}
		}
	}()
}

func closeVia(c io.Closer) {
	if c != nil {
		_ = c.Close()
	}
}
