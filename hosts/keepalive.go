package hosts

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// keepalive notices a host that stopped answering, as OpenSSH's
// ServerAliveInterval does: a host that lost power or a network that
// dropped sends no RST, and without asking, a command waiting for its exit
// status would wait for ever. It sends keepalive@openssh.com every
// interval; any reply, "unknown request" included, means the peer is
// there. After countMax intervals without a reply it closes the
// connection, which ends every session on it.
type keepalive struct {
	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	err      error // why it closed the connection; nil while it did not
}

// watch applies cfg's command timeout and starts the keepalive on the
// host's connection.
func (h *SSHHost) watch(cfg Config) {
	switch {
	case cfg.CommandTimeout == 0:
		h.cmdTimeout = defaultCommandTimeout
	case cfg.CommandTimeout > 0:
		h.cmdTimeout = cfg.CommandTimeout
	}
	interval, count := cfg.ServerAliveInterval, cfg.ServerAliveCountMax
	if interval <= 0 {
		interval = defaultKeepalive
	}
	if count <= 0 {
		count = defaultKeepaliveCount
	}
	h.alive = &keepalive{stop: make(chan struct{})}
	go h.alive.run(h.client, interval, count)
}

func (k *keepalive) run(c ssh.Conn, interval time.Duration, countMax int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	replies := make(chan error, 1) // one request at a time: the sender never blocks
	pending, missed := false, 0
	for {
		select {
		case <-k.stop:
			return
		case err := <-replies:
			if err != nil {
				return // the connection is gone already, and its own error says why
			}
			pending, missed = false, 0
		case <-t.C:
			if !pending {
				pending = true
				go func() {
					_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
					replies <- err
				}()
				continue
			}
			if missed++; missed >= countMax {
				k.mu.Lock()
				k.err = fmt.Errorf("the host did not answer %d keepalives in %s (the host or the network is down); the connection was closed",
					countMax, time.Duration(countMax)*interval)
				k.mu.Unlock()
				c.Close()
				return
			}
		}
	}
}

// close stops the keepalive; nil-safe.
func (k *keepalive) close() {
	if k != nil {
		k.stopOnce.Do(func() { close(k.stop) })
	}
}

// reason is why the keepalive closed the connection, nil if it did not.
func (k *keepalive) reason() error {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}
