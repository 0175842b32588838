package ufw

import (
	"errors"
	"strconv"
)

// While hako moves SSH to another port, the firewall must let both
// connections in: the plan's rules must allow the new port, and the port
// in use stays open through a temporary rule until hako has logged in on
// the new port. The next run over the new port deletes that rule, whether
// or not the plan is exclusive (Converge deletes every rule with this
// comment that the plan does not declare).

// TemporaryComment marks the temporary rule, so that it is recognised later.
const TemporaryComment = "hako: SSH port in use until the move is confirmed"

// WithTemporaryRule is the goal plus a rule that lets the SSH connection
// in use in: tcp to port from client.
func (g *Goal) WithTemporaryRule(client string, port int) (*Goal, error) {
	from, fam, err := NormalizeSource(client)
	if err != nil {
		return nil, err
	}
	if fam == V6 && !g.IPv6 {
		return nil, errors.New("hako is connected over IPv6 and the plan sets ipv6 = false")
	}
	cp := *g
	cp.Rules = append(append([]*PlanRule(nil), g.Rules...), &PlanRule{
		N: len(g.Rules) + 1, Action: "allow", Proto: "tcp", Port: strconv.Itoa(port),
		From: from, Comment: TemporaryComment, Families: []Family{fam},
	})
	return &cp, nil
}
