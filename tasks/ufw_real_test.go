package tasks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/testhost"
)

// ufwSteps are what a host's firewall goes through in
// TestUFWStateFromFilesIsUFWStatus, each a shell script run as root
// inside the host, then compared. ufw's own commands make most states;
// hand edits make the ones ufw reads but never writes.
var ufwSteps = []struct{ name, script string }{
	{"fresh", ""},
	{"rules added while inactive", "ufw allow 22/tcp comment ssh"},
	{"enabled", "ufw --force enable"},
	{"many rules", `ufw limit 2222/tcp comment 'odd: "quotes" #hash \back ünï€ $HOME ;|&'
ufw deny proto udp from 10.0.0.0/8 to any port 6000:6007
ufw reject from fd00::/8 to any port 25 proto tcp
ufw allow from 2001:db8::/32 to any port 443 proto tcp
ufw allow from 192.168.0.0/24
ufw allow proto tcp from any to any port 8010:8020,443:450,22
ufw allow in on eth0 to any port 99
ufw deny out on eth0 to 10.1.2.3 port 53 proto udp
ufw allow out 53
ufw allow log 98/tcp
ufw deny log-all 97/udp comment 'log all'
ufw route allow in on eth0 out on eth1 to 10.0.0.0/8 port 80 proto tcp
ufw route deny 95
ufw allow OpenSSH
ufw allow from 10.0.0.0/8 to any app OpenSSH
ufw allow to 10.213.0.2 port 97
ufw allow from 1.2.3.4 port 1234 proto udp
ufw allow from fe80::/10 port 546 to any port 547 proto udp
ufw insert 1 deny from 10.9.0.0/16 to any port 22 proto tcp
ufw prepend reject from ::/0 to any port 8081 proto tcp
ufw delete allow out 53`},
	// Outgoing stays allowed: hako's SSH connection to the host must
	// live on (the captured scenarios of package ufw show reject
	// outgoing).
	{"default policies", "ufw default reject incoming && ufw default allow routed"},
	{"logging high", "ufw logging high"},
	{"logging off", "ufw logging off"},
	{"forwarding on", "echo 1 >/proc/sys/net/ipv4/ip_forward"},
	{"IPv6 forwarding only", "echo 0 >/proc/sys/net/ipv4/ip_forward && echo 1 >/proc/sys/net/ipv6/conf/all/forwarding"},
	{"forwarding off", "echo 0 >/proc/sys/net/ipv6/conf/all/forwarding"},
	// Hand edits: a setting ufw reads with a carriage return, one in
	// single quotes it ignores, a level it does not know, the policy for
	// new profiles.
	{"odd settings", `printf 'DEFAULT_INPUT_POLICY="DROP"\r\nDEFAULT_OUTPUT_POLICY='"'"'ACCEPT'"'"'\nDEFAULT_APPLICATION_POLICY=ACCEPT\n' >>/etc/default/ufw
sed -i 's/^LOGLEVEL=.*/LOGLEVEL=loud/' /etc/ufw/ufw.conf`},
	{"rules loaded, ENABLED=no", "sed -i 's/^ENABLED=.*/ENABLED=no/' /etc/ufw/ufw.conf"},
	{"ENABLED=yes, rules not loaded", "sed -i 's/^ENABLED=.*/ENABLED=yes/' /etc/ufw/ufw.conf && /lib/ufw/ufw-init force-stop"},
	{"IPv6 off", "sed -i 's/^IPV6=.*/IPV6=no/' /etc/default/ufw && sed -i 's/^LOGLEVEL=.*/LOGLEVEL=low/' /etc/ufw/ufw.conf && ufw --force enable && ufw allow 8080/tcp"},
	{"disabled", "ufw disable"},
	{"a policy missing", "sed -i 's/^DEFAULT_FORWARD_POLICY=/#/' /etc/default/ufw"},
	{"not installed", "dpkg --purge ufw"},
}

// The ufw task reads ufw's state from its files and the kernel (no
// Python); on a real host, through every state of ufwSteps, that state
// prints exactly as `ufw status verbose` does (every rule, its order,
// ports, addresses, interfaces, comment, and the policies, logging,
// routing), and where ufw fails, the task fails too.
func TestUFWStateFromFilesIsUFWStatus(t *testing.T) {
	testhost.Require(t)
	th := testhost.Start(t, testhost.Options{})
	ctx := context.Background()
	c, err := hosts.Dial(ctx, hosts.Config{Name: "pi", Address: th.Addr, Port: th.Port, User: th.User,
		IdentityFiles: []string{th.KeyFile}, KnownHostsFile: th.KnownHostsFile(t), Become: true, ConnectTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	u := mustUFW(t, `rule { port = 22 }`)
	for _, step := range ufwSteps {
		if step.script != "" {
			th.Exec(t, "set -e\nexport LC_ALL=C\n"+step.script+" >/dev/null")
		}
		start := time.Now()
		res, err := c.Run(ctx, "LC_ALL=C ufw status verbose")
		if err != nil {
			t.Fatal(err)
		}
		ufwTime := time.Since(start)
		start = time.Now()
		st, err := Gather(ctx, c, u.Probes())
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		t.Logf("%s: `ufw status verbose` %v, the task's probe %v, %d processes (figures, not asserted)",
			step.name, ufwTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), st.Processes)
		h, err := readUFWHost(st)
		switch {
		case res.ExitCode == 127:
			if err != nil || h.Status.Installed {
				t.Errorf("%s: ufw is not installed, the task read %+v, %v", step.name, h, err)
			}
		case res.ExitCode != 0:
			if err == nil {
				t.Errorf("%s: `ufw status verbose` failed (exit %d: %s), the task read:\n%s", step.name, res.ExitCode, res.Stderr, h.StatusVerbose())
			} else {
				t.Logf("%s: ufw failed (%s), so does the task: %v", step.name, strings.TrimSpace(string(res.Stderr)), err)
			}
		case err != nil:
			t.Errorf("%s: %v; ufw says:\n%s", step.name, err, res.Stdout)
		default:
			sameLines(t, step.name+": `ufw status verbose`, then as read from the files",
				strings.Split(string(res.Stdout), "\n"), strings.Split(h.StatusVerbose()+"\n", "\n"))
			t.Logf("%s: %d and %d rules, %+v, the same as ufw says", step.name, len(h.Lists[4]), len(h.Lists[6]), h.Status)
		}
	}
}
