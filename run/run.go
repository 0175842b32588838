// Package run carries out an evaluated plan on its hosts: one connection
// per host, one batched state probe, Check for every task, and for apply,
// Apply, the idempotency re-check and the handlers.
package run

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/plan"
)

// Options are the run-time settings that do not come from the plan.
type Options struct {
	AcceptNewHostKeys bool
	// AcceptHostKeys maps a host's name to the fingerprint of the only key
	// it may present (-accept-host-key): recorded on first contact.
	AcceptHostKeys map[string]string
	// HashKnownHosts records new host keys under hashed names (OpenSSH's
	// HashKnownHosts yes) for every host.
	HashKnownHosts bool
	ConnectTimeout time.Duration
	CommandTimeout time.Duration // each command's limit (hosts.Config.CommandTimeout)
	Parallel       int           // hosts at once; 0: DefaultParallel
	// Reprovision names hosts whose changed host key is to be accepted
	// (reflashed cards).
	Reprovision map[string]bool
	// BootstrapPassword is tried after the keys on bootstrap connections
	// (-ask-bootstrap-password); never printed.
	BootstrapPassword string
	// Passphrase asks for an encrypted identity file's passphrase
	// (hosts.Config.Passphrase); nil when there is no terminal.
	Passphrase func(file string) ([]byte, error)
	// BecomePassword is sudo's password for the hosts with become that
	// set no become_password (-ask-become-password); never printed.
	BecomePassword string
	// ArmSafetyNet arms a rollback on the host before a port move (guard.Arm).
	ArmSafetyNet func(ctx context.Context, h hosts.Host, r NetRequest) (SafetyNet, error)
	// Confirm is how long a guarded change may wait for confirmation
	// before the host rolls back (0: DefaultMoveTimeout for port moves).
	Confirm time.Duration
	// AllowRisky names the lockout checks the operator overrides
	// (-allow-risky): their refusals become warnings that say so.
	AllowRisky map[string]bool
	// Verbose: each host's notes end with what its probes cost the host
	// (round trips and processes started there).
	Verbose bool
	// Dial connects to a host; nil means hosts.Dial over SSH.
	Dial func(ctx context.Context, cfg hosts.Config) (hosts.Host, error)
}

func (o Options) dial(ctx context.Context, cfg hosts.Config) (hosts.Host, error) {
	cfg.AcceptNewHostKeys = cfg.AcceptNewHostKeys || o.AcceptNewHostKeys
	if fp := o.AcceptHostKeys[cfg.Name]; fp != "" {
		cfg.AcceptHostKey = fp
	}
	cfg.HashKnownHosts = cfg.HashKnownHosts || o.HashKnownHosts
	if cfg.Become && cfg.BecomePassword == "" {
		cfg.BecomePassword = o.BecomePassword
	}
	if o.ConnectTimeout > 0 {
		cfg.ConnectTimeout = o.ConnectTimeout
	}
	// Jump hosts record unknown keys only with -accept-new-host-keys
	// itself: -reprovision is about the plan's host, never its jump hosts.
	cfg.Jumps = slices.Clone(cfg.Jumps)
	for i := range cfg.Jumps {
		cfg.Jumps[i].AcceptNewHostKeys = cfg.Jumps[i].AcceptNewHostKeys || o.AcceptNewHostKeys
		// -hash-known-hosts: a jump host's entry would otherwise name in
		// clear text the host this machine connects through.
		cfg.Jumps[i].HashKnownHosts = cfg.Jumps[i].HashKnownHosts || o.HashKnownHosts
		cfg.Jumps[i].Passphrase = o.Passphrase
	}
	cfg.CommandTimeout = o.CommandTimeout
	cfg.Passphrase = o.Passphrase
	if o.Dial != nil {
		return o.Dial(ctx, cfg)
	}
	h, err := hosts.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// MaxDefaultParallel bounds how many hosts are worked on at once when the
// operator does not say (-parallel). A host in flight costs hako about
// 0.3 MiB and, for a no-op run, 9-14 ms of CPU (BenchmarkManyHosts in
// bench/); the rest of a host's time is spent waiting for it. 32 hosts that
// each take 0.3 s (a LAN host's no-op run) keep about 1.5 cores busy with
// hako's own work: more in flight would not finish sooner on a laptop, and
// a slow uplink is filled by fewer.
const MaxDefaultParallel = 32

// fdsPerHost is what one host in flight holds open at most: its SSH
// connection, a jump host's connection, or a ProxyCommand's three pipes
// and its process's pidfd.
const fdsPerHost = 4

// fdReserve is kept for the rest of the process: standard streams,
// known_hosts, key and plan files, the agent's socket, Go's runtime.
const fdReserve = 64

// DefaultParallel is how many of a plan's hosts are worked on at once when
// Options.Parallel is not set: all of them, up to MaxDefaultParallel, and no
// more than the open-file limit leaves room for (Go raises the soft
// RLIMIT_NOFILE to (one below) the hard limit when the program starts; this reads the
// limit in force).
func DefaultParallel(hosts int) int {
	return defaultParallel(hosts, openFileLimit())
}

// defaultParallel is DefaultParallel with the open-file limit given
// (0: unknown, no bound from it).
func defaultParallel(hosts int, nofile uint64) int {
	n := min(hosts, MaxDefaultParallel)
	if nofile > 0 {
		room := 1
		if nofile > fdReserve+fdsPerHost {
			room = int(min((nofile-fdReserve)/fdsPerHost, uint64(MaxDefaultParallel)))
		}
		n = min(n, room)
	}
	return max(n, 1)
}

// eachHost runs fn for every host, at most Parallel at once, and returns
// the results in the plan's host order. A panic in fn ends only its host,
// whose result is then failed(host, the panic as an error).
func eachHost[R any](ctx context.Context, p *plan.Plan, o Options, fn func(context.Context, *plan.Host) R,
	failed func(*plan.Host, error) R) []R {
	n := o.Parallel
	if n <= 0 {
		n = DefaultParallel(len(p.Hosts))
	}
	sem := make(chan struct{}, n)
	out := make([]R, len(p.Hosts))
	var wg sync.WaitGroup
	for i, h := range p.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			defer func() {
				if v := recover(); v != nil {
					out[i] = failed(h, panicError(h.Name, "the run", v))
				}
			}()
			out[i] = fn(ctx, h)
		}()
	}
	wg.Wait()
	return out
}
