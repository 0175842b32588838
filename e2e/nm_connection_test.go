package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testhost"
)

// nmSecret has what a keyfile value must escape (a backslash) and what
// it must not (a semicolon, inner spaces).
const nmSecret = `pw;Se\same 4711`

// nmPlanFor is a plan for an nm host (as Imager leaves a bookworm card:
// its own login user, NetworkManager) with the ISP password as a
// sensitive variable.
func nmPlanFor(t *testing.T, h *testhost.Host, body string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plan.hcl"), fmt.Sprintf(`
host "pi" {
  address       = %q
  port          = %d
  user          = %q
  identity_file = %q
  known_hosts   = %q
  become        = true
}
variable "isp_password" {
  type      = string
  sensitive = true
  default   = %q
}
`, h.Addr, h.Port, h.User, h.KeyFile, h.KnownHostsFile(t), nmSecret)+body)
	return dir
}

// nmNoSecret fails when any of the outputs shows the ISP password, as it
// is or as JSON escapes it.
func nmNoSecret(t *testing.T, rs ...result) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(r.stdout+r.stderr, "same 4711") {
			t.Errorf("the output shows the password:\n%s", r)
		}
	}
}

// On a card as Imager leaves it, the nm_connection task gives the
// preconfigured connection static addresses and brings it up under the
// open session (the address hako uses stays), keeping every line it does
// not own; creates a PPPoE connection whose password no output shows; the
// dispatcher script keeps one rule over three "up" events; a second apply
// changes nothing.
func TestNMConnection(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	const keyfile = "/etc/NetworkManager/system-connections/preconfigured.nmconnection"
	h.Exec(t, "printf '# a line of its own\\n' >>"+keyfile+" && nmcli connection load "+keyfile)
	uuid := h.Exec(t, "nmcli -g connection.uuid connection show preconfigured")
	ipv6 := h.Exec(t, "sed -n '/^\\[ipv6\\]/,/^$/p' "+keyfile)
	// The USB NIC the modem hangs on: a veth inside the host.
	h.Exec(t, "ip link add eth1 type veth peer name eth1-peer && ip link set eth1-peer up")
	second := "192.0.2." + h.Addr[strings.LastIndexByte(h.Addr, '.')+1:]
	dir := nmPlanFor(t, h, fmt.Sprintf(`
task "nm_connection" "lan" {
  name = "preconfigured"
  up   = true
  ipv4 {
    method    = "manual"
    addresses = ["%s/24", "%s/24"]
    gateway   = "10.213.0.1"
    dns       = ["10.213.0.1", "192.0.2.53"]
  }
}
task "nm_connection" "isp" {
  name        = "isp"
  type        = "pppoe"
  interface   = "eth1"
  username    = "isp-user"
  password    = var.isp_password
  autoconnect = false
}
task "file" "pppoe_routing" {
  path    = "/etc/NetworkManager/dispatcher.d/90-hako-pppoe-isp"
  content = templatefile("templates/nm-dispatcher-pppoe.tftpl", { connection = "isp", table = 200, priority = 200 })
  mode    = "0755"
  owner   = "root"
  group   = "root"
}
`, h.Addr, second))

	plan := hako(t, "plan", dir)
	if plan.code != 0 {
		t.Fatalf("plan:\n%s", plan)
	}
	t.Logf("plan:\n%s", plan.stdout)
	mustContain(t, plan, "~ nm_connection.lan  update connection preconfigured (ethernet); brought up now",
		"-address1="+h.Addr+"/24,10.213.0.1", "+address1="+h.Addr+"/24", "+address2="+second+"/24", "+gateway=10.213.0.1",
		"+ nm_connection.isp  create connection isp (pppoe)", "+password=(sensitive, changed)", "Plan: 3 to change")
	js := hako(t, "plan", "-json", dir)
	apply := hako(t, "apply", dir)
	if apply.code != 0 {
		t.Fatalf("apply:\n%s", apply)
	}
	again := hako(t, "apply", dir)
	mustContain(t, again, "pi  ok=3 changed=0 failed=0")
	nmNoSecret(t, plan, js, apply, again)

	want := fmt.Sprintf("ipv4.method:manual\nipv4.addresses:%s/24, %s/24\nipv4.gateway:10.213.0.1\nipv4.dns:10.213.0.1,192.0.2.53\n", h.Addr, second)
	if out := h.Exec(t, "nmcli -t -f ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.dns connection show preconfigured"); out != want {
		t.Errorf("nmcli connection show preconfigured:\n%s\nwant:\n%s", out, want)
	}
	if out := h.Exec(t, "ip -4 -o addr show dev eth0 | awk '{ print $4 }'"); out != h.Addr+"/24\n"+second+"/24\n" {
		t.Errorf("eth0's addresses (the connection is up with the new settings):\n%s", out)
	}
	if out := h.Exec(t, "nmcli -g connection.uuid connection show preconfigured"); out != uuid {
		t.Errorf("uuid %q, was %q", out, uuid)
	}
	if out := h.Exec(t, "tail -n 1 "+keyfile+"; sed -n '/^\\[ipv6\\]/,/^$/p' "+keyfile); out != "# a line of its own\n"+ipv6 {
		t.Errorf("the lines hako does not own changed:\n%s", out)
	}
	for _, f := range []string{keyfile, "/etc/NetworkManager/system-connections/isp.nmconnection"} {
		if out := h.Exec(t, "stat -c '%U %G %a' "+f); out != "root root 600\n" {
			t.Errorf("%s: %s", f, out)
		}
	}
	if out := h.Exec(t, "nmcli -t -f connection.type,pppoe.parent,pppoe.username,pppoe.password connection show isp"); out != "connection.type:pppoe\npppoe.parent:eth1\npppoe.username:isp-user\npppoe.password:<hidden>\n" {
		t.Errorf("nmcli connection show isp:\n%s", out)
	}
	if out := h.Exec(t, "nmcli -s -f pppoe.password connection show isp"); strings.TrimSpace(strings.TrimPrefix(out, "pppoe.password:")) != nmSecret {
		t.Errorf("NetworkManager holds another password: %q", out)
	}
	if out := h.Exec(t, "journalctl --no-pager -o cat | grep -c -F -e 'Se\\same' || true"); out != "0\n" {
		t.Errorf("the journal holds the password %s times", strings.TrimSpace(out))
	}

	// The dispatcher script as NetworkManager runs it on each "up" of
	// the PPPoE connection (the kernel here has no PPP: a stand-in ppp0).
	h.AddPPPStandIn(t)
	h.Exec(t, "ip addr add 100.64.0.2 peer 100.64.0.1 dev ppp0")
	env := "CONNECTION_ID=isp DEVICE_IFACE=eth1 DEVICE_IP_IFACE=ppp0 IP4_NUM_ADDRESSES=1 IP4_ADDRESS_0='100.64.0.2/32 100.64.0.1' IP4_GATEWAY=100.64.0.1"
	for range 3 {
		h.Exec(t, env+" /etc/NetworkManager/dispatcher.d/90-hako-pppoe-isp ppp0 up")
	}
	rules, routes := h.Exec(t, "ip rule show table 200"), h.Exec(t, "ip route show table 200")
	if rules != "200:\tfrom 100.64.0.2 lookup 200\n" || routes != "default dev ppp0 scope link \n" {
		t.Errorf("after three up events: rules %q routes %q", rules, routes)
	}
	h.Exec(t, env+" /etc/NetworkManager/dispatcher.d/90-hako-pppoe-isp ppp0 down")
	if rules, routes := h.Exec(t, "ip rule show table 200"), h.Exec(t, "ip route show table 200"); rules != "" || routes != "" {
		t.Errorf("after down: rules %q routes %q", rules, routes)
	}
}

// lanMove is another free address of the lab's network for h (hosts take
// the lowest free ones), reachable from here as h's is, and an
// nm_connection task that brings h's connection up there.
func lanMove(h *testhost.Host) (moved, task string) {
	var n int
	fmt.Sscan(h.Addr[strings.LastIndexByte(h.Addr, '.')+1:], &n)
	moved = fmt.Sprintf("10.213.0.%d", 254-n)
	return moved, fmt.Sprintf(`
task "nm_connection" "lan" {
  name = "preconfigured"
  up   = true
  ipv4 {
    method    = "manual"
    addresses = ["%s/24"]
    gateway   = "10.213.0.1"
  }
}
`, moved)
}

// Bringing up the connection hako is connected through with another
// address is refused in plan and apply (address-move), and changes
// nothing; apply -confirm brings it up last, under the rollback guard,
// logs in again at the new address and disarms the guard there.
func TestNMConnectionAddressMove(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	const keyfile = "/etc/NetworkManager/system-connections/preconfigured.nmconnection"
	moved, lan := lanMove(h)
	dir := nmPlanFor(t, h, lan)
	before := h.Exec(t, "cat "+keyfile)
	plan := hako(t, "plan", dir)
	mustContain(t, plan, fmt.Sprintf("refused: bringing preconfigured up now moves hako's address %s (eth0) to %s: apply -confirm", h.Addr, moved),
		"-allow-risky address-move")
	if plan.code != 1 {
		t.Errorf("plan of a move: exit %d, want 1 (refused)", plan.code)
	}
	refused := hako(t, "apply", dir)
	if refused.code == 0 || h.Exec(t, "cat "+keyfile) != before {
		t.Fatalf("a refused move changed the host:\n%s", refused)
	}
	apply := hako(t, "apply", "-confirm", "3m", dir)
	t.Logf("apply -confirm:\n%s", apply)
	if apply.code != 0 {
		t.Fatalf("apply -confirm:\n%s", apply)
	}
	mustContain(t, apply, "guarded by -confirm (check address-move)", "nm_connection.lan: moving the host to "+moved+" now",
		"confirmed over a new connection; the rollback is disarmed")
	if out := h.Exec(t, "ip -4 -o addr show dev eth0 | awk '{ print $4 }'"); out != moved+"/24\n" {
		t.Errorf("eth0's addresses after the move:\n%s", out)
	}
	if out := h.Exec(t, "nmcli -t -f ipv4.addresses connection show preconfigured"); out != "ipv4.addresses:"+moved+"/24\n" {
		t.Errorf("preconfigured: %s", out)
	}
	if out := h.Exec(t, "ls /var/lib/hako/guard/ 2>/dev/null | wc -l"); out != "0\n" {
		t.Errorf("a guard is left on the host: %s", out)
	}
}

// A move to an address hako cannot reach is not confirmed: the host rolls
// back by itself (keyfile restored, NetworkManager restarted) and answers
// at its old address again. (NetworkManager, restarted, takes the device
// over as it finds it and adds the old address: the moved one stays
// beside it until the connection next comes up.)
func TestNMConnectionAddressMoveRollsBack(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	const keyfile = "/etc/NetworkManager/system-connections/preconfigured.nmconnection"
	idx := h.Addr[strings.LastIndexByte(h.Addr, '.')+1:]
	// TEST-NET-1: no route leads there from here.
	dir := nmPlanFor(t, h, `
task "nm_connection" "lan" {
  name = "preconfigured"
  up   = true
  ipv4 {
    method    = "manual"
    addresses = ["192.0.2.`+idx+`/24"]
  }
}
`)
	before := h.Exec(t, "cat "+keyfile)
	apply := hako(t, "apply", "-confirm", "1m", dir)
	t.Logf("apply -confirm:\n%s", apply)
	if apply.code == 0 {
		t.Fatalf("an unreachable move was confirmed:\n%s", apply)
	}
	mustContain(t, apply, "logging in again after the address move (ada@192.0.2."+idx+":22) did not work within 30s")
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(h.Exec(t, "ip -4 -o addr show dev eth0 | awk '{ print $4 }'"), h.Addr+"/24\n") {
		if time.Now().After(deadline) {
			t.Fatalf("eth0 after the rollback:\n%s\njournal:\n%s", h.Exec(t, "ip addr show dev eth0"), h.Exec(t, "journalctl --no-pager -n 60 -o cat"))
		}
		time.Sleep(time.Second)
	}
	if out := h.Exec(t, "cat "+keyfile); out != before {
		t.Errorf("keyfile after the rollback:\n%s\nwas:\n%s", out, before)
	}
	if out, code := h.SSH(t, "echo back"); code != 0 || out != "back\n" {
		t.Errorf("ssh after the rollback: %q, exit %d", out, code)
	}
}

// After an address move too, the confirmation asks the sshd on disk how it
// would judge hako's next login, over the connection at the new address:
// a DenyGroups drop-in that no handler restarts sshd for, with a command
// task putting hako's user in that group (a lockout the plan-time checks
// cannot see), is not confirmed. The connection at the old address is gone
// with the move, so the host's timer rolls back: the drop-in is removed,
// the host answers at its old address, and hako's user logs in after a
// restart of sshd.
func TestNMConnectionAddressMoveJudgesSSHDOnDisk(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitNM})
	moved, lan := lanMove(h)
	dir := nmPlanFor(t, h, lan+fmt.Sprintf(`
task "file" "sshd_deny" {
  path    = %q
  content = "DenyGroups hakolocked\n"
}

task "command" "lock_group" {
  command = "getent group hakolocked >/dev/null || groupadd hakolocked; usermod -aG hakolocked %s"
}
`, listenDropIn, h.User))
	apply := hako(t, "apply", "-confirm", "1m", dir)
	t.Logf("apply -confirm:\n%s", apply)
	if apply.code != 1 {
		t.Fatalf("apply -confirm: want exit 1")
	}
	mustContain(t, apply, "nm_connection.lan: moving the host to "+moved+" now",
		"sshd's configuration on disk would refuse the next login of "+h.User+" once sshd restarts: denygroups hakolocked (names a group of "+h.User+"'s)",
		"the host rolls back by itself when the timer ends")
	deadline := time.Now().Add(4 * time.Minute)
	for h.Exec(t, "test -e "+listenDropIn+" && echo there || echo gone") != "gone\n" ||
		!strings.Contains(h.Exec(t, "ip -4 -o addr show dev eth0 | awk '{ print $4 }'"), h.Addr+"/24\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no rollback within 4 minutes: eth0:\n%s\nguard log:\n%s", h.Exec(t, "ip addr show dev eth0"), h.Exec(t, "cat /var/lib/hako/guard/*/log 2>/dev/null || true"))
		}
		time.Sleep(time.Second)
	}
	if !strings.Contains(" "+h.Exec(t, "id -Gn "+h.User), " hakolocked") {
		t.Fatalf("the command task did not put %s in hakolocked: the test proves nothing", h.User)
	}
	h.Exec(t, "systemctl restart ssh")
	if out, code := h.SSH(t, "echo back"); code != 0 || out != "back\n" {
		t.Errorf("ssh at the old address after the rollback and a restart of sshd: %q, exit %d", out, code)
	}
}
