package preflight

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/probe"
	"github.com/hako-dev/hako/tasks"
)

// The facts as the checks read them from the probes' answers.
func TestFactsOf(t *testing.T) {
	h := hostOf(t, aliceHost)
	st := stateOf(t, h, append(units("enabled", "active", "inactive"), login("pi"),
		device("lo", "unmanaged"), device("eth0", "connected"),
		hostFile("/etc/ssh/sshd_config", debianSSHD), hostFile("/etc/ssh/sshd_config.d/my file.conf", "Port 22\n"),
		unreadable("/etc/sudoers"), absent("alice"),
		userLine("pi", "pi,adm,sudo"), keysLine("pi", "ssh-ed25519 AAAA\n"))...)
	f := factsOf(h, st)
	if f.login != "pi" {
		t.Errorf("login %q", f.login)
	}
	want := map[string]unitFacts{
		"ssh.socket": {activeState: "active", unitFileState: "enabled", listen: []string{"[::]:22"}},
	}
	if !reflect.DeepEqual(f.units, want) {
		t.Errorf("units %+v", f.units)
	}
	if f.host.Init != "systemd" || f.host.NetworkStacks.NetworkManager {
		t.Errorf("host facts %+v", f.host)
	}
	if !reflect.DeepEqual(f.devices, map[string]string{"lo": "unmanaged", "eth0": "connected"}) {
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

	// Units of a host without systemd are not facts; authorized_keys that
	// is a link is not read, and says so.
	link := func(h *hostFacts) {
		a := h.account("alice")
		a.Exists, a.KeyFile = true, probe.FileInfo{Exists: true, Type: "symbolic link"}
	}
	f = factsOf(h, stateOf(t, h, login("pi"), link, func(h *hostFacts) {
		h.units["ssh.socket"] = probe.UnitInfo{Init: "init", Active: "active"}
	}))
	if len(f.units) != 0 {
		t.Errorf("units without systemd %+v", f.units)
	}
	if a := f.users["alice"]; !a.exists || a.keysKnown || !a.keysUnreadable {
		t.Errorf("alice, authorized_keys a link: %+v", a)
	}
}

// The probes run in a POSIX shell on this machine and answer at least who
// it is.
func TestFactsProbesRun(t *testing.T) {
	h := hostOf(t, aliceHost)
	st, err := tasks.Gather(t.Context(), hosts.NewLocal("local"), Probes(h))
	if err != nil {
		t.Fatal(err)
	}
	f := factsOf(h, st)
	if f.login == "" || f.users["alice"] == nil || f.users["pi"] == nil || f.users[f.login] == nil {
		t.Errorf("facts %+v", f)
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
