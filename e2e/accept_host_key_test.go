package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// -accept-host-key NAME=FINGERPRINT records exactly the key the user read
// on the host's console, without -accept-new-host-keys, and says so; any
// other key is refused with both fingerprints shown, and nothing is
// recorded nor changed on the host.
func TestAcceptHostKeyByFingerprint(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	fp := strings.Fields(h.Exec(t, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))[1]
	other := testhost.NewKeyPair(t, t.TempDir(), "another-machine").Fingerprint

	r := hako(t, append([]string{"apply", "-accept-host-key", "pi=" + other}, quickstart(h, kh)...)...)
	if r.code != 1 {
		t.Fatalf("apply with the fingerprint of another key: want exit 1\n%s", r)
	}
	mustContain(t, r, `"pi"`, fp, other, "-accept-host-key", "nothing recorded")
	if b, _ := os.ReadFile(kh); len(b) != 0 {
		t.Errorf("known_hosts written for a key that is not the one given: %q", b)
	}
	if out := h.Exec(t, "test -e /opt/app && echo present || echo absent"); strings.TrimSpace(out) != "absent" {
		t.Error("the host was changed")
	}

	r = hako(t, append([]string{"plan", "-accept-host-key", "pi=" + fp}, quickstart(h, kh)...)...)
	if r.code != 0 {
		t.Fatalf("plan with the host's fingerprint:\n%s", r)
	}
	name := "[" + h.Addr + "]:" + strconv.Itoa(h.Port)
	if h.Port == 22 {
		name = h.Addr
	}
	mustContain(t, r, "note: recorded host key ssh-ed25519 "+fp+" for "+name+" in "+kh)
	hostLine := strings.Fields(h.HostKeyLine())
	if got := readFile(t, kh); got != name+" "+hostLine[0]+" "+hostLine[1]+"\n" {
		t.Errorf("known_hosts holds:\n%s", got)
	}

	// Known now: no note, and the flag still refuses any other key.
	r = hako(t, append([]string{"plan"}, quickstart(h, kh)...)...)
	if r.code != 0 || strings.Contains(r.stdout+r.stderr, "recorded host key") {
		t.Errorf("second plan:\n%s", r)
	}
	r = hako(t, append([]string{"plan", "-accept-host-key", "pi=" + other}, quickstart(h, kh)...)...)
	if r.code != 1 {
		t.Errorf("a known host with another fingerprint given: want exit 1\n%s", r)
	}
}
