package sdcard

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testhost"
)

// The first boot of a bookworm-style card, on a real Debian host dressed
// as a fresh Pi (systemd, user pi with uid 1000): the boot partition that
// Prepare wrote goes to /boot/firmware, then the steps of the boot run in
// order: imager_fixup's rewrite of cmdline.txt, firstrun.sh as systemd.run
// runs it, and userconf-pi's rename of uid 1000 with the userconf.txt
// line. Afterwards the plan's user logs in with the key alone and becomes
// root with `sudo -n`; password logins are off.
func TestFirstBootOnAHost(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})

	keyDir := t.TempDir()
	priv := testhost.NewKeyPair(t, keyDir, "alice@test").Private
	key, err := LoadPublicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	boot := bootCopy(t, "bookworm")
	if _, err := Prepare(boot, "alice", key, rand.Reader); err != nil {
		t.Fatal(err)
	}

	// A fresh image: no key for pi and, as since 2026, no sudo rule of pi's own.
	h.Exec(t, "rm -f /home/pi/.ssh/authorized_keys /etc/sudoers.d/010_pi-nopasswd && mkdir -p /boot/firmware")
	for _, f := range []string{"cmdline.txt", "userconf.txt", "firstrun.sh", "ssh"} {
		data, err := os.ReadFile(filepath.Join(boot, f))
		if err != nil {
			t.Fatal(err)
		}
		h.Exec(t, "echo "+base64.StdEncoding.EncodeToString(data)+" | base64 -d >/boot/firmware/"+f)
	}
	// FAT shows every file as executable; systemd.run runs the path itself.
	h.Exec(t, "chmod 755 /boot/firmware/firstrun.sh")

	// imager_fixup (initramfs), then systemd.run=/boot/firmware/firstrun.sh.
	h.Exec(t, `sed -i 's|/boot/|/boot/firmware/|g' /boot/firmware/cmdline.txt`)
	cmdline := h.Exec(t, "cat /boot/firmware/cmdline.txt")
	if !strings.Contains(cmdline, "systemd.run=/boot/firmware/firstrun.sh") {
		t.Fatalf("cmdline.txt: %s", cmdline)
	}
	h.Exec(t, "/boot/firmware/firstrun.sh")

	log := h.Exec(t, "cat /boot/firmware/hako-firstrun.log")
	for _, w := range []string{"key installed for pi (/home/pi)", "passwordless sudo for alice", "done"} {
		if !strings.Contains(log, w) {
			t.Errorf("hako-firstrun.log does not say %q:\n%s", w, log)
		}
	}
	if got := h.Exec(t, "cat /boot/firmware/cmdline.txt"); strings.Contains(got, "systemd.") ||
		strings.TrimSpace(got) != strings.TrimSpace(readFile(t, filepath.Join("testdata", "boot", "bookworm", "cmdline.txt"))) {
		t.Errorf("cmdline.txt after first boot: %q", got)
	}
	if got := h.Exec(t, "ls /boot/firmware"); strings.Contains(got, "firstrun.sh") {
		t.Errorf("firstrun.sh is still there: %s", got)
	}
	if got := h.Exec(t, "systemctl is-enabled ssh"); strings.TrimSpace(got) != "enabled" {
		t.Errorf("ssh is %q", got)
	}
	if got := h.Exec(t, "stat -c '%a %U' /etc/sudoers.d/010_hako-alice-nopasswd /home/pi/.ssh /home/pi/.ssh/authorized_keys"); got != "440 root\n700 pi\n600 pi\n" {
		t.Errorf("modes and owners:\n%s", got)
	}
	h.Exec(t, "/usr/sbin/sshd -t && grep -qx 'PasswordAuthentication no' /etc/ssh/sshd_config")

	// Running firstrun.sh again (a second boot that still had it) adds nothing.
	h.Exec(t, "echo "+base64.StdEncoding.EncodeToString([]byte(readFile(t, filepath.Join(boot, "firstrun.sh"))))+
		" | base64 -d >/boot/firmware/firstrun.sh && sh /boot/firmware/firstrun.sh")
	if got := h.Exec(t, "wc -l </home/pi/.ssh/authorized_keys"); strings.TrimSpace(got) != "1" {
		t.Errorf("authorized_keys has %s lines after a second run", got)
	}

	// Next boot: userconf-pi renames uid 1000 to the userconf.txt user (its
	// rename_user and chpasswd -e), moving the home with its .ssh.
	h.Exec(t, `line=$(head -n1 /boot/firmware/userconf.txt); u=${line%%:*}; p=${line#*:}
usermod -l "$u" pi && usermod -m -d "/home/$u" "$u" && groupmod -n "$u" pi && echo "$u:$p" | chpasswd -e`)
	h.Exec(t, "systemctl restart ssh")

	if out, code, _ := h.SSHAs(t, testhost.Login{User: "alice", KeyFile: priv}, "sudo -n id -u"); code != 0 || strings.TrimSpace(out) != "0" {
		t.Errorf("alice with the key, sudo -n id -u: %q, exit %d", out, code)
	}
	// Only public keys are offered: no password, no keyboard-interactive.
	_, code, stderr := h.SSHAs(t, testhost.Login{User: "alice", NoKey: true}, "true")
	if code != 255 || !strings.Contains(stderr, "Permission denied (publickey)") {
		t.Errorf("without the key: exit %d, %s", code, stderr)
	}
}

// An image without the first user (no alice, no uid 1000): the key cannot
// be installed, so password authentication stays on, since the account's
// password is random and nobody could log in otherwise.
func TestFirstBootWithoutTheUserKeepsPasswordAuth(t *testing.T) {
	testhost.Require(t)
	h := testhost.Start(t, testhost.Options{Init: testhost.InitSystemd})
	key, err := LoadPublicKey(testhost.NewKeyPair(t, t.TempDir(), "alice@test").Private)
	if err != nil {
		t.Fatal(err)
	}
	boot := bootCopy(t, "bookworm")
	if _, err := Prepare(boot, "alice", key, rand.Reader); err != nil {
		t.Fatal(err)
	}
	h.Exec(t, "usermod -u 1500 pi && mkdir -p /boot/firmware")
	data, err := os.ReadFile(filepath.Join(boot, "firstrun.sh"))
	if err != nil {
		t.Fatal(err)
	}
	h.Exec(t, "echo "+base64.StdEncoding.EncodeToString(data)+" | base64 -d >/boot/firmware/firstrun.sh && chmod 755 /boot/firmware/firstrun.sh")
	before := h.Exec(t, "grep -i '^[#[:space:]]*PasswordAuthentication' /etc/ssh/sshd_config || true")
	h.Exec(t, "/boot/firmware/firstrun.sh")
	log := h.Exec(t, "cat /boot/firmware/hako-firstrun.log")
	if !strings.Contains(log, "key not installed") || !strings.Contains(log, "password authentication left on") {
		t.Errorf("log:\n%s", log)
	}
	if after := h.Exec(t, "grep -i '^[#[:space:]]*PasswordAuthentication' /etc/ssh/sshd_config || true"); after != before {
		t.Errorf("PasswordAuthentication changed without a key: %q -> %q", before, after)
	}
}
