package testhost

import (
	"strings"
	"testing"
)

// A package that is not in the image installs from the host's local repository, once the code
// under test has run apt-get update: LocalAptRepo does not run it.
func TestLocalAptRepo(t *testing.T) {
	Require(t)
	h := Start(t, Options{})
	h.LocalAptRepo(t, "hako-demo-pkg")

	if out := h.Exec(t, "cat /etc/apt/sources.list.d/hako-local.list"); out != "deb [trusted=yes] file:/srv/hako-apt ./\n" {
		t.Errorf("hako-local.list = %q", out)
	}
	if out := h.Exec(t, "apt-cache policy hako-demo-pkg"); strings.Contains(out, "Candidate") {
		t.Errorf("apt knows hako-demo-pkg before apt-get update:\n%s", out)
	}
	h.Exec(t, "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hako-demo-pkg")
	if out := h.Exec(t, "dpkg-query -W -f '${Status} ${Version}' hako-demo-pkg"); out != "install ok installed 1.0" {
		t.Errorf("dpkg-query hako-demo-pkg = %q", out)
	}
	h.Exec(t, "test -f /usr/share/doc/hako-demo-pkg/hello")

	// A second call adds to the same repository; a newer version is an upgrade, over SSH.
	h.LocalAptRepo(t, "hako-demo-pkg=2.0", "hako-other")
	if out, code := h.SSH(t, "sudo -n apt-get update -q >/dev/null && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -q hako-demo-pkg hako-other >/dev/null && dpkg-query -W hako-demo-pkg hako-other"); code != 0 || out != "hako-demo-pkg\t2.0\nhako-other\t1.0\n" {
		t.Errorf("upgrade over ssh: %q, exit %d", out, code)
	}
}

func TestPPPStandIn(t *testing.T) {
	Require(t)
	h := Start(t, Options{})
	h.AddPPPStandIn(t)
	out := h.Exec(t, "ip -o link show ppp0")
	for _, want := range []string{"ppp0@veth-ppp0:", "NOARP", ",UP,", "LOWER_UP", "mtu 1492"} {
		if !strings.Contains(out, want) {
			t.Errorf("ip link show ppp0: no %q in %q", want, out)
		}
	}
	if out := h.Exec(t, "ip -o addr show dev ppp0"); out != "" {
		t.Errorf("ppp0 has addresses: %q", out)
	}
	// What an ip-up script does with it works.
	h.Exec(t, "ip addr add 100.64.0.2 peer 100.64.0.1 dev ppp0 && ip route add 192.0.2.0/24 dev ppp0 table 200")
	h.Exec(t, "ip link del ppp0 && ! ip link show veth-ppp0 2>/dev/null")
}
