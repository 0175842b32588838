package tasks

import (
	"fmt"
	"strconv"

	"github.com/hako-dev/hako/hosts"
)

// While hako moves SSH to another port (it is connected through a host's
// bootstrap settings, and State.MigrateTo is the plan's port), the firewall
// must let both connections in: the plan's rules must allow the new port,
// and the port in use stays open through a temporary rule until hako has
// logged in on the new port. The next run over the new port deletes that
// rule, whether or not the task is exclusive.

// ufwTempComment marks the temporary rule, so that it is recognised later.
const ufwTempComment = "hako: SSH port in use until the move is confirmed"

// withTemporaryRule is the task plus a rule that lets the current SSH
// connection in: tcp to its port from its client address.
func (u *UFW) withTemporaryRule(ep hosts.Endpoint) (*UFW, error) {
	from, fam, err := normalizeSource(ep.ClientAddr)
	if err != nil {
		return nil, err
	}
	if fam == famV6 && !u.ipv6 {
		return nil, fmt.Errorf("hako is connected over IPv6 and the plan sets ipv6 = false")
	}
	cp := *u
	cp.rules = append(append([]*ufwPlanRule(nil), u.rules...), &ufwPlanRule{
		n: len(u.rules) + 1, action: "allow", proto: "tcp", port: strconv.Itoa(ep.ServerPort),
		from: from, comment: ufwTempComment, families: []ufwFamily{fam},
	})
	return &cp, nil
}

// migrationCheck is Check's lockout step during a port move: the new port
// must be allowed (else Refusal), and the port in use is kept open. It
// returns the convergence to carry out. An overridden refusal
// (-allow-risky ufw-lockout) lets the move go on.
func (u *UFW) migrationCheck(s *State, h *ufwHost, cv *ufwConvergence) (*ufwConvergence, error) {
	target := s.Endpoint
	target.ServerPort = s.MigrateTo
	if r := u.lockout(target, cv); r != nil {
		r.Reason += fmt.Sprintf(" (the plan moves SSH from port %d to port %d)", s.Endpoint.ServerPort, s.MigrateTo)
		if err := s.refuse(r); err != nil {
			return nil, err
		}
	}
	if u.lockout(s.Endpoint, cv) == nil {
		return cv, nil
	}
	keep, err := u.withTemporaryRule(s.Endpoint)
	if err != nil {
		r := &Refusal{Check: CheckUFWLockout, Reason: fmt.Sprintf("%s: cannot keep the SSH connection in use open during the move: %v", u.addr, err)}
		return cv, s.refuse(r)
	}
	kcv, err := keep.converge(h)
	if err != nil {
		return nil, err
	}
	if err := s.refuse(keep.lockout(s.Endpoint, kcv)); err != nil {
		return nil, err
	}
	return kcv, nil
}
