package lint

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// The answer of a bookworm host with ssh.socket enabled (systemctl show
// puts Listen first) and NetworkManager.
func TestParseFacts(t *testing.T) {
	out := strings.Join([]string{
		"L pi",
		"Y Listen=[::]:22 (Stream)",
		"Y Listen=0.0.0.0:2222 (Stream)",
		"Y Id=ssh.socket",
		"Y ActiveState=active",
		"Y UnitFileState=enabled",
		"Y ",
		"Y Id=NetworkManager.service",
		"Y ActiveState=inactive",
		"Y UnitFileState=",
		"M lo:unmanaged",
		"M eth0:connected",
		`M my\:dev:disconnected`,
		hostFile("/etc/ssh/sshd_config", debianSSHD),
		hostFile("/etc/ssh/sshd_config.d/my file.conf", "Port 22\n"),
		"f /etc/sudoers",
		"N alice",
		userLine("pi", "pi,adm,sudo"),
		keysLine("pi", "ssh-ed25519 AAAA\n"),
		userLine("bob", "bob"),
		"k bob",
		"something new",
	}, "\n") + "\n"
	f := parseFacts([]byte(out))
	if f.login != "pi" {
		t.Errorf("login %q", f.login)
	}
	want := map[string]unitFacts{
		"ssh.socket":             {activeState: "active", unitFileState: "enabled", listen: []string{"[::]:22", "0.0.0.0:2222"}},
		"NetworkManager.service": {activeState: "inactive"},
	}
	if !reflect.DeepEqual(f.units, want) {
		t.Errorf("units %+v", f.units)
	}
	if !reflect.DeepEqual(f.devices, map[string]string{"lo": "unmanaged", "eth0": "connected", "my:dev": "disconnected"}) {
		t.Errorf("devices %v", f.devices)
	}
	if string(f.files["/etc/ssh/sshd_config"]) != debianSSHD || string(f.files["/etc/ssh/sshd_config.d/my file.conf"]) != "Port 22\n" || !f.unreadable["/etc/sudoers"] {
		t.Errorf("files %q, unreadable %v", f.files, f.unreadable)
	}
	if a := f.users["alice"]; a == nil || a.exists {
		t.Errorf("alice %+v", a)
	}
	if p := f.users["pi"]; !p.exists || !reflect.DeepEqual(p.groups, []string{"pi", "adm", "sudo"}) || !p.keysKnown || string(p.keys) != "ssh-ed25519 AAAA\n" {
		t.Errorf("pi %+v", p)
	}
	if b := f.users["bob"]; !b.exists || b.keysKnown || !b.keysUnreadable {
		t.Errorf("bob %+v", b)
	}
}

// The script runs in a POSIX shell and answers at least who it is.
func TestFactsScriptRuns(t *testing.T) {
	h := hostOf(t, aliceHost)
	out, err := exec.Command("sh", "-c", factsScript(h)).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f := parseFacts(out)
	if f.login == "" || f.users["alice"] == nil && f.users["pi"] == nil {
		t.Errorf("facts %+v from:\n%s", f, out)
	}
}

func TestSSHDLine(t *testing.T) {
	for line, want := range map[string]string{
		"Port 22":                      "port [22]",
		"  PasswordAuthentication=no":  "passwordauthentication [no]",
		"Port = 2222 # moved":          "port [2222]",
		"Port =2222":                   "port [2222]",
		"ListenAddress \"[::1]:22\"":   "listenaddress [[::1]:22]",
		"# Port 22":                    " []",
		"":                             " []",
		"Subsystem\tsftp\t/usr/lib/x ": "subsystem [sftp /usr/lib/x]",
		"AcceptEnv LANG#x LC_*":        "acceptenv [LANG#x LC_*]",
	} {
		k, args := sshdLine(line)
		if got := k + " [" + strings.Join(args, " ") + "]"; got != want {
			t.Errorf("%q: %q, want %q", line, got, want)
		}
	}
}

// A file larger than any line limit does not end the reading: the facts
// after it are still read.
func TestParseFactsAfterAHugeFile(t *testing.T) {
	huge := strings.Repeat("# padding\n", 2<<20) // 20 MiB
	f := parseFacts([]byte(hostFile("/etc/ssh/sshd_config.d/huge.conf", huge) + "\nL alice\n" + userLine("alice", "alice,sudo") + "\n"))
	if len(f.files["/etc/ssh/sshd_config.d/huge.conf"]) != len(huge) || f.login != "alice" || f.users["alice"] == nil || !f.users["alice"].exists {
		t.Errorf("file %d bytes, login %q, users %v", len(f.files["/etc/ssh/sshd_config.d/huge.conf"]), f.login, f.users)
	}
}
