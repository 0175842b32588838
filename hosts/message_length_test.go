package hosts

import (
	"errors"
	"strings"
	"testing"
)

// The host-key refusals stay under 300 characters a line as the user reads
// them, with realistic values: host pi on 192.168.178.20:50022, an ed25519
// key, known_hosts in a user's home, and (on its own line, as data) a
// recorded entry with its whole key. Each still says what to check and
// which flag to re-run with.
func TestHostKeyMessagesAreShort(t *testing.T) {
	const (
		host = "pi"
		addr = "192.168.178.20:50022"
		file = "/home/hanako/.ssh/known_hosts"
		fp   = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
		old  = "SHA256:Xa0Yw1sQm7Vb3cJk9pLr2Tn5Ue8Hf4Gd6Zi0Oq1Ws3E"
		key  = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	)
	known := []string{file + ":3: [192.168.178.20]:50022 ssh-ed25519 " + key + "  (ssh-ed25519 " + old + ")"}
	changed := func(otherPort, ca bool) *HostKeyChangedError {
		return &HostKeyChangedError{Host: host, HostPort: addr, KeyType: "ssh-ed25519", Fingerprint: fp, KnownHostsFile: file,
			KnownAt: []string{file + ":3"}, Known: known, OtherPort: otherPort, CertAuthority: ca}
	}
	for _, c := range []struct {
		name string
		err  error
		want []string
	}{
		{"unknown", &UnknownHostKeyError{Host: host, HostPort: addr, KeyType: "ssh-ed25519", Fingerprint: fp, KnownHostsFile: file},
			[]string{fp, file, "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub", "-accept-host-key pi=SHA256:", "-accept-new-host-keys"}},
		{"changed", changed(false, false),
			[]string{"HOST KEY CHANGED", fp, old, key, "man-in-the-middle", "reflashed", "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub",
				"-reprovision pi", "ssh-keygen -R '[192.168.178.20]:50022' -f '" + file + "'", "-accept-new-host-keys"}},
		{"changed, other port", changed(true, false),
			[]string{"HOST KEY DIFFERS", "other SSH port", fp, old, "fall back", "reinstalled", "ssh-keygen -lf", "-reprovision pi"}},
		{"not trusted", changed(false, true),
			[]string{"HOST KEY NOT TRUSTED", "only through a certificate authority", fp, "ssh-keygen -lf", "-reprovision pi"}},
		{"not trusted, other port", changed(true, true),
			[]string{"HOST KEY NOT TRUSTED", "other SSH port", fp, "ssh-keygen -lf", "-reprovision pi"}},
		{"not accepted", &HostKeyNotAcceptedError{Host: host, HostPort: addr, KeyType: "ssh-ed25519", Fingerprint: fp, Accepted: old},
			[]string{fp, old, "-accept-host-key", "nothing recorded", "key type", "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"}},
		{"mismatch", &HostKeyMismatchError{Host: host, HostPort: "192.168.178.20:22", Expected: "ssh-ed25519 " + old, Got: "ssh-ed25519 " + fp},
			[]string{fp, old}},
		{"jump host changed", &JumpError{Host: host, Jump: "bastion.example.net", Err: &HostKeyChangedError{
			Host: "bastion.example.net", HostPort: "bastion.example.net:22", KeyType: "ssh-ed25519", Fingerprint: fp, KnownHostsFile: file,
			KnownAt: []string{file + ":7"}, Known: []string{file + ":7: bastion.example.net ssh-ed25519 " + key + "  (ssh-ed25519 " + old + ")"}}},
			[]string{"HOST KEY CHANGED", fp, old, "-reprovision is only for the plan's hosts", "ssh-keygen -R 'bastion.example.net' -f '" + file + "'", "-accept-new-host-keys"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := c.err.Error()
			for _, line := range strings.Split(msg, "\n") {
				t.Logf("%d: %s", len(line), line)
				if len(line) > 300 {
					t.Errorf("%d characters: %s", len(line), line)
				}
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("no %q in:\n%s", w, msg)
				}
			}
			if errors.Unwrap(c.err) != nil && !errors.As(c.err, new(*HostKeyChangedError)) {
				t.Errorf("%T no longer unwraps to the jump host's error", c.err)
			}
		})
	}
}
