package testhost

import (
	"fmt"
	"net"
	"strings"
	"testing"
)

// AdmitSSHOnlyFrom makes the host's sshd port reachable only from the given addresses (other
// test hosts on the lab bridge, say a jump host): a TCP connection from anywhere else, this
// machine included, is refused with a reset. See AdmitPortsOnlyFrom.
func (h *Host) AdmitSSHOnlyFrom(t testing.TB, addrs ...string) {
	t.Helper()
	h.AdmitPortsOnlyFrom(t, []int{h.Port}, addrs...)
}

// AdmitPortsOnlyFrom makes the given TCP ports reachable only from the given addresses. It is a
// table of its own (inet hakoadmit) that sees packets before ufw's, so a plan's firewall
// changes do not lift it; calling it again replaces the rules.
func (h *Host) AdmitPortsOnlyFrom(t testing.TB, ports []int, addrs ...string) {
	t.Helper()
	var rules []string
	for _, p := range ports {
		for _, a := range addrs {
			ip := net.ParseIP(a)
			if ip == nil {
				t.Fatalf("testhost: AdmitPortsOnlyFrom %s: %q is not an IP address", h.Name, a)
			}
			fam := "ip"
			if ip.To4() == nil {
				fam = "ip6"
			}
			rules = append(rules, fmt.Sprintf("nft add rule inet hakoadmit input tcp dport %d %s saddr %s accept", p, fam, a))
		}
		rules = append(rules, fmt.Sprintf("nft add rule inet hakoadmit input tcp dport %d reject with tcp reset", p))
	}
	h.Exec(t, `set -e
nft list table inet hakoadmit >/dev/null 2>&1 || { nft add table inet hakoadmit && nft add chain inet hakoadmit input '{ type filter hook input priority -20; }'; }
nft flush chain inet hakoadmit input
`+strings.Join(rules, "\n"))
}
