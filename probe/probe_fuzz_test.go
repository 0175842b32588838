package probe

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hako-dev/hako/hosts"
	"github.com/hako-dev/hako/internal/fuzzbound"
)

// fuzzOrder is one request of every type, and a sensitive path whose
// name no error may show.
var fuzzOrder = []Request{Stat{Path: "/etc/motd"}, File{Path: "/etc/motd"}, Exit{Cmd: "true"}, Stat{Path: "/root/hunter2", Sensitive: true},
	Output{Cmd: "ls"}, Leftovers{Dir: "/etc"}, Endpoint{}, Login{}, Account{Name: "alice"}, Unit{Name: "ssh.socket"},
	Packages{Names: []string{"ufw", "ppp"}, Apt: true}, NetDevices{}, Configs{Patterns: "/etc/ssh/*"}, File{Path: "/root/hunter2.env", Sensitive: true}, Facts{}}

// fuzzAnswer is what a host answers to fuzzOrder.
func fuzzAnswer() string {
	return rec(0, "stat", "regular file\t644\troot\troot\t0\t0\t6") + rec(1, "data", "hello\n") + "2 exit :0\n" +
		rec(3, "stat-missing", "") + rec(4, "exit", "3") + rec(4, "stdout", "a\nb") +
		rec(5, "rootonly", "1") + rec(5, "name", ".motd.hako-0123456789ab") +
		"6 conn :192.168.0.10 51234 192.168.0.64 50022\n" + "7 uid :0\n" + "7 name :pi\n" +
		rec(8, "name", "alice") + rec(8, "passwd", "alice:x:1001:1001::/home/alice:/bin/bash") + rec(8, "groups", "alice sudo") +
		rec(8, "primary", "alice") + rec(8, "sshdir", "directory\t700\talice\talice\t1001\t1001\t4096") +
		rec(8, "keyfile", "regular empty file\t600\talice\talice\t1001\t1001\t0") + rec(8, "keys", "") +
		rec(9, "init", "systemd") + rec(9, "enabled", "enabled") + "9 active :active\n" + rec(9, "listen", "[::]:22 (Stream)") +
		rec(10, "dpkg", "ufw\tinstalled\nppp\tconfig-files") + rec(10, "lists", "1000 900 - 1") +
		rec(10, "showpkg", showpkgVirtual+showpkgReal) +
		rec(11, "nmcli", "1") + rec(11, "device", `eth\:0:connected`) +
		rec(12, "configs", "") + rec(12, "path", "/etc/ssh/sshd_config") + rec(12, "data", "Port 22\n") +
		rec(12, "path", "/etc/ssh/secret") + rec(12, "unreadable", "") +
		rec(13, "sha256", "abc") + rec(14, "os", "ID=debian") + "14 arch :aarch64\n14 init :systemd\n14 running :NetworkManager\n" +
		"14 iface :eth0\n14 sshd-socket :active\n14 sshd-service :inactive\n14 ufw :1\n" + endMarker + "\n"
}

// FuzzDecode feeds the record decoder any output: no panic, an answer
// within a bound; when it decodes, every request has an answer of its
// type; an error never names a sensitive path.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(fuzzAnswer()))
	f.Add([]byte("0 stat-missing :\n13 unreadable :\n" + endMarker + "\n"))
	f.Add([]byte("0 stat !!notbase64\nS 0 -\n-1 x :\n0 stat-missing\n"))
	f.Add([]byte(rec(8, "passwd", "a:b") + rec(10, "showpkg", "Package: x\nReverse Provides: \n\t\n") + rec(11, "device", ":x")))
	f.Fuzz(func(t *testing.T, out []byte) {
		defer fuzzbound.Start()()
		a, err := Decode(out, fuzzOrder)
		if err != nil {
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error names a sensitive path: %v", err)
			}
			return
		}
		// Answer panics when an answer is missing or of another type.
		a.Stat("/etc/motd")
		a.Content("/etc/motd")
		a.Exit("true")
		Answer[FileInfo](a, fuzzOrder[3])
		a.Output("ls")
		a.Leftovers("/etc")
		Answer[hosts.Endpoint](a, Endpoint{})
		Answer[LoginInfo](a, Login{})
		Answer[AccountInfo](a, fuzzOrder[8])
		Answer[UnitInfo](a, fuzzOrder[9])
		Answer[PackagesInfo](a, fuzzOrder[10])
		Answer[map[string]string](a, NetDevices{})
		Answer[ConfigFiles](a, fuzzOrder[12])
		Answer[Content](a, fuzzOrder[13])
		a.HostFacts()
	})
}

// FuzzRecordRoundTrip runs the Output probe through the real shell
// functions (a command that prints the value, quoted by hosts.Quote) and
// the decoder: the value comes back byte for byte, whatever its bytes
// (but NUL, which no shell string holds), newlines and trailing ones
// included.
func FuzzRecordRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", "a=b\n\nlast\n", "\n", "=0", "it's", "%s\\n", "\xff\xfe", " lead", "tab\there", "x\r\n", "-n"} {
		f.Add([]byte(s))
	}
	h := local()
	f.Fuzz(func(t *testing.T, value []byte) {
		defer fuzzbound.Start()()
		if bytes.IndexByte(value, 0) >= 0 {
			t.Skip("a shell string cannot hold NUL")
		}
		req := Output{Cmd: "printf '%s' " + hosts.Quote(string(value))}
		a, err := Gather(t.Context(), h, []Request{req})
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Output(req.Cmd); got.ExitCode != 0 || !bytes.Equal(got.Stdout, value) {
			t.Errorf("value %q came back as %q (exit %d)", value, got.Stdout, got.ExitCode)
		}
	})
}

// FuzzStatRecord: a stat line as hako_statrec prints it decodes to the
// values it was printed from (GNU stat's "regular empty file" reads as a
// regular file).
func FuzzStatRecord(f *testing.F) {
	f.Add("regular file", "root", "root", uint16(0o644), uint32(0), uint32(0), int64(6))
	f.Add("regular empty file", "alice", "alice", uint16(0o600), uint32(1001), uint32(1001), int64(0))
	f.Add("directory", "UNKNOWN", "staff", uint16(0o7777), uint32(4294967294), uint32(50), int64(4096))
	f.Add("symbolic link", "a b", "", uint16(0o777), uint32(1), uint32(2), int64(1)<<40)
	f.Fuzz(func(t *testing.T, typ, user, group string, mode uint16, uid, gid uint32, size int64) {
		defer fuzzbound.Start()()
		for _, s := range []string{typ, user, group} {
			if strings.ContainsAny(s, "\t\n") {
				t.Skip("stat's fields hold no tab or newline here")
			}
		}
		if size < 0 {
			t.Skip("stat prints no negative size")
		}
		mode &= 0o7777
		line := fmt.Sprintf("%s\t%o\t%s\t%s\t%d\t%d\t%d", typ, mode, user, group, uid, gid, size)
		a, err := Decode([]byte("0 stat :"+line+"\n"), []Request{Stat{Path: "/x"}})
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want := FileInfo{Exists: true, Type: typ, Mode: int(mode), User: user, Group: group, UID: int(uid), GID: int(gid), Size: size}
		if typ == "regular empty file" {
			want.Type = "regular file"
		}
		if got := a.Stat("/x"); !reflect.DeepEqual(got, want) {
			t.Errorf("%q decoded as %+v, want %+v", line, got, want)
		}
	})
}

// FuzzEndpoint reads SSH_CONNECTION ("client_ip client_port server_ip
// server_port") as hako_endpoint prints it: the addresses and the server's
// port decode to themselves; other text gives a zero Endpoint or one made
// of its words, never a panic.
func FuzzEndpoint(f *testing.F) {
	f.Add("192.168.0.10", "192.168.0.64", uint16(51234), uint16(50022))
	f.Add("fe80::1%eth0", "fe80::2", uint16(22), uint16(22))
	f.Add("a b", "", uint16(0), uint16(65535))
	f.Fuzz(func(t *testing.T, client, server string, cport, sport uint16) {
		defer fuzzbound.Start()()
		if e := parseSSHConnection(client); e != (hosts.Endpoint{}) && (!strings.Contains(client, e.ClientAddr) || !strings.Contains(client, e.ServerAddr)) {
			t.Errorf("%q read as %+v", client, e)
		}
		if len(strings.Fields(client)) != 1 || len(strings.Fields(server)) != 1 {
			return // not one word each: not an address
		}
		client, server = strings.TrimSpace(client), strings.TrimSpace(server)
		s := fmt.Sprintf("%s %d %s %d", client, cport, server, sport)
		want := hosts.Endpoint{ClientAddr: client, ServerAddr: server, ServerPort: int(sport)}
		if e := parseSSHConnection(s); e != want {
			t.Errorf("%q read as %+v, want %+v", s, e, want)
		}
	})
}
