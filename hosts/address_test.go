package hosts

import (
	"strings"
	"testing"
)

func TestCheckAddress(t *testing.T) {
	ok := map[string]string{
		"mypi":               "mypi",
		"192.0.2.10":         "192.0.2.10",
		"pi.local":           "pi.local",
		"2001:db8::1":        "2001:db8::1",
		"[2001:db8::1]":      "2001:db8::1",
		"fe80::1%eth0":       "fe80::1%eth0",
		"[fe80::1%eth0]":     "fe80::1%eth0",
		"::1":                "::1",
		"host-with-dash.lan": "host-with-dash.lan",
	}
	for in, want := range ok {
		got, err := CheckAddress(in)
		if err != nil || got != want {
			t.Errorf("CheckAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string][]string{
		"pi@192.0.2.10":         {`address = "192.0.2.10"`, `user = "pi"`},
		"192.0.2.10:2222":       {`address = "192.0.2.10"`, `port = 2222`},
		"mypi:22":               {`address = "mypi"`, `port = 22`},
		"[2001:db8::1]:2222":    {`address = "2001:db8::1"`, `port = 2222`},
		"pi@[2001:db8::1]:2222": {`user = "pi"`},
		"ssh://pi@host:2222":    {"URL", "user =", "port ="},
		"-oProxyCommand=x":      {"starts with '-'"},
		"2001:db8::zz":          {"not a valid IPv6"},
		"[mypi]":                {"only an IPv6 address"},
		"[2001:db8::1":          {"without ']'"},
		"host:port":             {"':' belongs only in an IPv6 address"},
		"my pi":                 {"space"},
		"x$(touch${IFS}/tmp/p)": {"one of"},
		"a;b":                   {"one of"},
		"a|b":                   {"one of"},
		"a,b":                   {"one of"},
		"a`id`":                 {"one of"},
		"a\x00b":                {"control character"},
		"":                      {"empty"},
	}
	for in, want := range bad {
		_, err := CheckAddress(in)
		if err == nil {
			t.Errorf("CheckAddress(%q) accepted", in)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("CheckAddress(%q): %q lacks %q", in, err, w)
			}
		}
	}
}

func TestParseProxyJump(t *testing.T) {
	cases := map[string][]JumpHop{
		"":                       nil,
		"none":                   nil,
		"bastion":                {{Host: "bastion"}},
		"admin@bastion:2200":     {{User: "admin", Host: "bastion", Port: 2200}},
		"a,b@c:1, ssh://d@e:5/":  {{Host: "a"}, {User: "b", Host: "c", Port: 1}, {User: "d", Host: "e", Port: 5}},
		"[2001:db8::1]:2222":     {{Host: "2001:db8::1", Port: 2222}},
		"u@[2001:db8::1]":        {{User: "u", Host: "2001:db8::1"}},
		"2001:db8::1":            {{Host: "2001:db8::1"}},
		"user@with@at@host:2022": {{User: "user@with@at", Host: "host", Port: 2022}},
	}
	for in, want := range cases {
		got, err := ParseProxyJump(in)
		if err != nil {
			t.Errorf("ParseProxyJump(%q): %v", in, err)
			continue
		}
		if len(got) != len(want) {
			t.Errorf("ParseProxyJump(%q) = %+v, want %+v", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("ParseProxyJump(%q)[%d] = %+v, want %+v", in, i, got[i], want[i])
			}
		}
	}
	for _, in := range []string{"host:99999", "@host", "a,,b", "[::1", "-oProxyCommand=x", "h:x"} {
		if hops, err := ParseProxyJump(in); err == nil {
			t.Errorf("ParseProxyJump(%q) = %+v, want an error", in, hops)
		}
	}
}

// A user name is ProxyCommand's %r, which the shell reads: what OpenSSH
// refuses on its command line is refused.
func TestCheckUser(t *testing.T) {
	for _, ok := range []string{"pi", "alice", "svc-deploy", "alice@corp.example", "user.name", "_admin"} {
		if err := CheckUser(ok); err != nil {
			t.Errorf("CheckUser(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"-oProxyCommand=x", "u$(id)", "u`id`", "a;b", "a b", "a\nb", "a|b", "a&b", "a>b", `a"b`, "a'b", `a\b`} {
		if err := CheckUser(bad); err == nil {
			t.Errorf("CheckUser(%q) accepted", bad)
		}
	}
}
