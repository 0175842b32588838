package testhost

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// An nm host is a bookworm card as Raspberry Pi Imager leaves it: systemd, NetworkManager
// running and owning eth0 through the connection "preconfigured" (a keyfile only root reads),
// no pi user, the login user the card was made for with passwordless sudo.
func TestNMHost(t *testing.T) {
	Require(t)
	t0 := time.Now()
	h := Start(t, Options{Init: InitNM})
	t.Logf("%s (nm) ready at %s:%d in %v", h.Name, h.Addr, h.Port, time.Since(t0))
	if h.Init != InitNM || h.User != NMUser {
		t.Errorf("Init, User = %q, %q; want %q, %q", h.Init, h.User, InitNM, NMUser)
	}

	if out := h.Exec(t, "cat /proc/1/comm"); out != "systemd\n" {
		t.Errorf("PID 1 is %q, want systemd", out)
	}
	for _, unit := range []string{"NetworkManager", "ssh"} {
		if out := h.Exec(t, "systemctl is-active "+unit); out != "active\n" {
			t.Errorf("systemctl is-active %s = %q", unit, out)
		}
	}
	// Start returned after NetworkManager's startup: the connection is up on eth0, and it is
	// the only one (no "Wired connection 1" made up for eth0).
	if out := h.Exec(t, "nmcli -t -f NAME,TYPE,DEVICE connection show"); out != "preconfigured:802-3-ethernet:eth0\nlo:loopback:lo\n" {
		t.Errorf("nmcli -t connection show:\n%s", out)
	}
	if out := h.Exec(t, "nmcli -t -f GENERAL.STATE device show eth0"); out != "GENERAL.STATE:100 (connected)\n" {
		t.Errorf("eth0: %q, want connected (managed by NetworkManager)", out)
	}
	if out := h.Exec(t, "stat -c '%U %G %a' /etc/NetworkManager/system-connections/preconfigured.nmconnection"); out != "root root 600\n" {
		t.Errorf("preconfigured.nmconnection owner and mode = %q, want root root 600", out)
	}
	if out := h.Exec(t, "getent passwd pi || echo none"); out != "none\n" {
		t.Errorf("getent passwd pi = %q, want none", out)
	}
	if out := h.Exec(t, "getent passwd 1000 | cut -d: -f1,6"); out != NMUser+":/home/"+NMUser+"\n" {
		t.Errorf("user 1000 = %q, want %s", out, NMUser)
	}
	if out, code := h.SSH(t, "id -un; sudo -n id -u"); code != 0 || out != NMUser+"\n0\n" {
		t.Errorf("ssh id -un; sudo -n id -u = %q, exit %d", out, code)
	}
	if _, code, _ := h.SSHAs(t, Login{User: "pi"}, "true"); code != 255 {
		t.Errorf("ssh as pi: exit %d, want 255 (no such user)", code)
	}
	state := h.Exec(t, "systemctl is-system-running --wait || true")
	if state != "running\n" && state != "degraded\n" {
		t.Errorf("systemctl is-system-running = %q, want running or degraded", state)
	}
	if state == "degraded\n" {
		t.Logf("failed units:\n%s", h.Exec(t, "systemctl --failed --no-pager"))
	}

	t.Run("static", func(t *testing.T) { nmStatic(t, h) })
	t.Run("load", func(t *testing.T) { nmLoad(t, h) })
	t.Run("pppoe", func(t *testing.T) { nmPPPoE(t, h) })
	t.Run("dispatcher", func(t *testing.T) { nmDispatcher(t, h) })
	t.Run("sudo password", func(t *testing.T) { nmSudoPassword(t, h) })

	h.Stop(t)
	assertNoLeftovers(t, h)
}

// nmStatic: NetworkManager changes the preconfigured connection's static IPv4 settings and
// brings it up again, under an open SSH session, which lives on: the harness address stays.
func nmStatic(t *testing.T, h *Host) {
	idx := h.Addr[strings.LastIndexByte(h.Addr, '.')+1:]
	second := "192.0.2." + idx // TEST-NET-1, one per host on the bridge
	sess := h.startSession(t, "echo started; sleep 4; echo survived")
	h.Exec(t, fmt.Sprintf(`nmcli connection modify preconfigured ipv4.method manual ipv4.addresses "%s/24, %s/24" ipv4.gateway 10.213.0.1 ipv4.dns "10.213.0.1 192.0.2.53" && nmcli connection up preconfigured`, h.Addr, second))
	if rest, err := sess.wait(); err != nil || rest != "survived\n" {
		t.Errorf("session across nmcli connection up: %v, output %q", err, rest)
	}
	want := fmt.Sprintf("ipv4.method:manual\nipv4.addresses:%s/24, %s/24\nipv4.gateway:10.213.0.1\nipv4.dns:10.213.0.1,192.0.2.53\n", h.Addr, second)
	if out := nmcliFields(h.Exec(t, "nmcli -f ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.dns connection show preconfigured")); out != want {
		t.Errorf("nmcli -f ipv4... connection show preconfigured:\n%s\nwant:\n%s", out, want)
	}
	if out := h.Exec(t, "ip -4 -o addr show dev eth0 | awk '{ print $4 }'"); out != h.Addr+"/24\n"+second+"/24\n" {
		t.Errorf("eth0's addresses:\n%s", out)
	}
	if out := h.Exec(t, "ip -4 route show default"); !strings.Contains(out, "default via 10.213.0.1 dev eth0 proto static") {
		t.Errorf("default routes:\n%s", out)
	}
	if out := h.Exec(t, "grep ^nameserver /etc/resolv.conf"); out != "nameserver 10.213.0.1\nnameserver 192.0.2.53\n" {
		t.Errorf("resolv.conf's name servers:\n%s", out)
	}
	// NetworkManager rewrote the keyfile, still root's alone.
	if out := h.Exec(t, "f=/etc/NetworkManager/system-connections/preconfigured.nmconnection; stat -c '%U %G %a' $f; sed -n '/^\\[ipv4\\]/,/^\\[/p' $f | grep -E '^(address|dns)'"); out != fmt.Sprintf("root root 600\naddress1=%s/24,10.213.0.1\naddress2=%s/24\ndns=10.213.0.1;192.0.2.53;\n", h.Addr, second) {
		t.Errorf("keyfile after the change:\n%s", out)
	}
	if out, code := h.SSH(t, "echo new"); code != 0 || out != "new\n" {
		t.Errorf("new session after the change: %q, exit %d", out, code)
	}
}

// nmLoad: a keyfile written by hand is loaded with `nmcli connection load` and shown with the
// values written. A keyfile that others can read is refused, with exit status 0 all the same:
// only `nmcli connection show` tells.
func nmLoad(t *testing.T, h *Host) {
	const file = "/etc/NetworkManager/system-connections/lan2.nmconnection"
	h.Exec(t, `umask 077; cat >`+file+` <<EOF
[connection]
id=lan2
uuid=$(cat /proc/sys/kernel/random/uuid)
type=ethernet
interface-name=eth9
autoconnect=false

[ipv4]
method=manual
address1=192.168.50.10/24,192.168.50.1
dns=192.168.50.1;

[ipv6]
method=disabled
EOF
chmod 0644 `+file)
	if out := h.Exec(t, "nmcli connection load "+file+" 2>&1; echo exit $?; nmcli -t connection show lan2 >/dev/null 2>&1 || echo not loaded"); out != "Could not load file '"+file+"'\nexit 0\nnot loaded\n" {
		t.Errorf("loading a keyfile of mode 0644:\n%s", out)
	}
	h.Exec(t, "chmod 0600 "+file+" && nmcli connection load "+file)
	want := "ipv4.method:manual\nipv4.addresses:192.168.50.10/24\nipv4.gateway:192.168.50.1\nipv4.dns:192.168.50.1\n"
	if out := nmcliFields(h.Exec(t, "nmcli -f ipv4.method,ipv4.addresses,ipv4.gateway,ipv4.dns connection show lan2")); out != want {
		t.Errorf("lan2 as loaded:\n%s\nwant:\n%s", out, want)
	}
}

// nmPPPoE: NetworkManager makes a PPPoE connection (its password in a keyfile only root reads,
// never shown by nmcli). Bringing it up fails here (the kernel has no PPP); the password
// appears in no output and not in the journal either.
func nmPPPoE(t *testing.T, h *Host) {
	const secret = "pw-Sesame-4711"
	// The USB NIC the modem hangs on: a veth pair inside the host.
	h.Exec(t, "ip link add eth1 type veth peer name eth1-peer && ip link set eth1-peer up")
	h.Exec(t, "nmcli connection add type pppoe con-name isp ifname ppp0 pppoe.parent eth1 username isp-user password "+secret+" autoconnect no >/dev/null")
	if out := h.Exec(t, "stat -c '%U %G %a' /etc/NetworkManager/system-connections/isp.nmconnection"); out != "root root 600\n" {
		t.Errorf("isp.nmconnection owner and mode = %q", out)
	}
	show := h.Exec(t, "nmcli connection show isp")
	want := "connection.type:pppoe\npppoe.parent:eth1\npppoe.username:isp-user\npppoe.password:<hidden>\n"
	if out := nmcliFields(h.Exec(t, "nmcli -f connection.type,pppoe.parent,pppoe.username,pppoe.password connection show isp")); out != want || strings.Contains(show, secret) {
		t.Errorf("nmcli connection show isp:\n%s\nwant:\n%s", out, want)
	}
	up := h.Exec(t, "timeout 60 nmcli connection up isp 2>&1; echo exit $?")
	t.Logf("nmcli connection up isp (no PPP in this kernel):\n%s", up)
	if strings.Contains(up, secret) {
		t.Errorf("nmcli connection up isp shows the password")
	}
	if out := h.Exec(t, "journalctl --no-pager -o cat | grep -c -F "+secret+" || true"); out != "0\n" {
		t.Errorf("the journal holds the password %s times", strings.TrimSpace(out))
	}
}

// nmDispatcher: NetworkManager-dispatcher runs a script from /etc/NetworkManager/dispatcher.d
// for each "up" of eth0, and for each time a ppp0 comes up outside NetworkManager (the
// harness's ppp stand-in, as pppd would leave it, given an address; and removed again).
func nmDispatcher(t *testing.T, h *Host) {
	h.Exec(t, `cat >/etc/NetworkManager/dispatcher.d/50-hako-test <<'EOF'
#!/bin/sh
[ "$2" = up ] && echo "$1 $2 $CONNECTION_ID" >>/run/hako-dispatch.log
exit 0
EOF
chmod 0755 /etc/NetworkManager/dispatcher.d/50-hako-test`)
	for range 3 {
		h.Exec(t, "nmcli connection up preconfigured >/dev/null")
	}
	// The dispatcher runs the scripts after the activation is reported: wait for them.
	h.waitFor(t, "cat /run/hako-dispatch.log 2>/dev/null", "eth0 up preconfigured\neth0 up preconfigured\neth0 up preconfigured\n")
	want := ""
	for range 3 {
		h.AddPPPStandIn(t)
		h.Exec(t, "ip addr add 192.0.2.77 peer 192.0.2.1 dev ppp0")
		want += "ppp0 up ppp0\n"
		h.waitFor(t, "grep ^ppp0 /run/hako-dispatch.log", want)
		h.Exec(t, "ip link del ppp0")
	}
}

// nmSudoPassword: SudoAsksPassword works on the user Imager made.
func nmSudoPassword(t *testing.T, h *Host) {
	h.SudoAsksPassword(t, "pw-for-sudo")
	if out, code := h.SSH(t, "sudo -n true 2>&1; echo pw-for-sudo | sudo -S -p '' id -u"); code != 0 || out != "sudo: a password is required\n0\n" {
		t.Errorf("sudo after SudoAsksPassword: %q, exit %d", out, code)
	}
}

// session is an SSH session left open while the test changes the host.
type session struct {
	c      *exec.Cmd
	lines  *bufio.Scanner
	errOut bytes.Buffer
}

// startSession runs cmd over SSH and returns once it has printed its first line, "started".
func (h *Host) startSession(t *testing.T, cmd string) *session {
	t.Helper()
	s := &session{c: exec.Command("ssh", h.sshArgs(h.KnownHostsFile(t), cmd)...)}
	s.c.Stderr = &s.errOut
	stdout, err := s.c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.c.Start(); err != nil {
		t.Fatal(err)
	}
	s.lines = bufio.NewScanner(stdout)
	if !s.lines.Scan() || s.lines.Text() != "started" {
		s.c.Process.Kill()
		s.c.Wait()
		t.Fatalf("session did not start: %q, stderr %s", s.lines.Text(), s.errOut.String())
	}
	return s
}

// wait returns the rest of the session's output once it has ended.
func (s *session) wait() (string, error) {
	rest := ""
	for s.lines.Scan() {
		rest += s.lines.Text() + "\n"
	}
	if err := s.c.Wait(); err != nil {
		return rest, fmt.Errorf("%v, stderr %s", err, s.errOut.String())
	}
	return rest, nil
}

// waitFor runs cmd in the host until it prints want; it fails the test after two minutes.
func (h *Host) waitFor(t *testing.T, cmd, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out := h.Exec(t, cmd+"; true")
		if out == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q after 2 minutes, want %q", cmd, out, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// nmcliFields turns nmcli's "name:   value" lines into "name:value" lines.
func nmcliFields(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, value, _ := strings.Cut(line, ":")
		b.WriteString(name + ":" + strings.TrimSpace(value) + "\n")
	}
	return b.String()
}
