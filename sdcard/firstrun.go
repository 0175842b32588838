package sdcard

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// marker is on the second line of every script and YAML file hako sdcard
// writes: a file without it is someone else's and is never replaced.
const marker = "# Written by hako sdcard"

// firstRunArgs run firstrun.sh once and reboot, exactly as Raspberry Pi
// Imager appends them to cmdline.txt (rpi-imager src/downloadthread.cpp).
// The path is /boot/firstrun.sh even where the partition is mounted on
// /boot/firmware: the image's initramfs hook imager_fixup looks for this
// very argument and rewrites it (and reboots) on those images.
var firstRunArgs = []string{
	"systemd.run=/boot/firstrun.sh",
	"systemd.run_success_action=reboot",
	"systemd.unit=kernel-command-line.target",
}

// firstRunFiles plans the files of a FirstRun image.
func firstRunFiles(c *card, user string, key PublicKey, rnd io.Reader) error {
	// ssh: its presence is all that counts (sshswitch ignores the content).
	if name, ok := c.existing("ssh", "ssh.txt"); ok {
		c.keep(name, "sshd is enabled on first boot")
	} else {
		c.write("ssh", nil, 0o644, "sshd is enabled on first boot")
	}

	// userconf.txt, or userconf if the card has that one: userconf-service
	// reads "userconf" first and only the first of the two it finds.
	name := "userconf.txt"
	if n, ok := c.existing("userconf"); ok {
		name = n
	} else if n, ok := c.existing("userconf.txt"); ok {
		name = n
	}
	note := fmt.Sprintf("first user %s, with a random password that is not shown (log in with the key)", user)
	old, err := c.read(name)
	if err != nil {
		return err
	}
	if u, hash, ok := parseUserconf(old); ok && u == user && cryptHashRE.MatchString(hash) {
		c.keep(name, note+"; its password is kept, not regenerated")
	} else {
		hash, err := randomPasswordHash(rnd)
		if err != nil {
			return err
		}
		if ok && u != user {
			note += fmt.Sprintf("; it was for user %s", u)
		}
		c.write(name, []byte(user+":"+hash+"\n"), 0o644, note)
	}

	// firstrun.sh: never someone else's.
	old, err = c.read("firstrun.sh")
	if err != nil {
		return err
	}
	if old != nil && !isOurs(old) {
		return fmt.Errorf("%s/firstrun.sh was not written by hako (Raspberry Pi Imager's OS customisation writes one), so it is left as it is: "+
			"reflash the card without customisation, or delete firstrun.sh and the systemd.run arguments in cmdline.txt", c.dir)
	}
	c.write("firstrun.sh", firstRunScript(user, key), 0o755,
		"on first boot installs the key, passwordless sudo and key-only SSH, then deletes itself")

	// cmdline.txt: one line, our three arguments once.
	name, _ = c.existing("cmdline.txt")
	old, err = c.read(name)
	if err != nil {
		return err
	}
	line, err := withFirstRun(old)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", c.dir, name, err)
	}
	c.write(name, line, 0o644, "runs firstrun.sh once, on first boot")
	return nil
}

// parseUserconf reads the first line of a userconf file as userconf-service
// does: "name:password".
func parseUserconf(data []byte) (user, hash string, ok bool) {
	if data == nil {
		return "", "", false
	}
	first, _, _ := strings.Cut(string(data), "\n")
	user, hash, ok = strings.Cut(strings.TrimRight(first, "\r"), ":")
	return user, hash, ok && user != ""
}

func isOurs(data []byte) bool {
	_, rest, _ := bytes.Cut(data, []byte("\n"))
	return bytes.HasPrefix(rest, []byte(marker))
}

// withFirstRun returns cmdline.txt with firstRunArgs at the end of its
// line, once. The kernel command line is the file's first line: a second
// non-blank line means a file edited by hand in a way hako does not guess
// about. Other arguments keep their order; an existing systemd.run= or
// systemd.unit= of something else is someone else's first-boot hook.
func withFirstRun(data []byte) ([]byte, error) {
	text := string(data)
	first, rest, _ := strings.Cut(text, "\n")
	if strings.TrimSpace(rest) != "" {
		return nil, fmt.Errorf("has more than one line; the kernel command line must be a single line")
	}
	eol := ""
	if strings.HasSuffix(text, "\n") {
		eol = "\n"
	}
	if strings.HasSuffix(first, "\r") {
		first, eol = strings.TrimSuffix(first, "\r"), "\r"+eol
	}
	fields := strings.Fields(first)
	if len(fields) == 0 {
		return nil, fmt.Errorf("is empty: a flashed image's cmdline.txt names at least the root file system")
	}
	ours := map[string]bool{}
	for _, a := range firstRunArgs {
		ours[a] = true
	}
	var kept []string
	for _, f := range fields {
		switch {
		case ours[f]:
			continue // put back at the end, once
		case strings.HasPrefix(f, "systemd.run=") || strings.HasPrefix(f, "systemd.run_success_action=") || strings.HasPrefix(f, "systemd.unit="):
			return nil, fmt.Errorf("already has %s: another first-boot hook, left as it is", f)
		}
		kept = append(kept, f)
	}
	if len(fields) >= len(firstRunArgs) && strings.Join(fields[len(fields)-len(firstRunArgs):], " ") == strings.Join(firstRunArgs, " ") &&
		len(kept) == len(fields)-len(firstRunArgs) {
		return data, nil // already there, exactly once: the file stays byte for byte
	}
	return []byte(strings.Join(append(kept, firstRunArgs...), " ") + eol), nil
}

// firstRunScript is the script the FirstRun image runs once. It does what
// Raspberry Pi Imager's firstrun.sh does for a key, without Imager's
// imager_custom helper (trixie's raspberrypi-sys-mods no longer has it):
//   - the key goes to the account that becomes the first user: the user of
//     that name if it already exists, else uid 1000, which userconf.txt
//     renames (moving its home, .ssh included) on the next boot;
//   - passwordless sudo for that name, which hako's `sudo -n` needs and
//     which images since 2026 no longer give the first user;
//   - PasswordAuthentication no in sshd_config (plans' sshd_config.d
//     drop-ins are read first and still win), and sshd enabled.
//
// It must not fail: systemd.run_success_action=reboot reboots only on
// success, and a card stuck in kernel-command-line.target is unreachable.
// Its output goes to hako-firstrun.log on the boot partition, readable
// from any computer. No line may match imager_fixup's `rm.*firstrun\.sh$`
// (which would cut the script there and append its own clean-up): the rm
// line ends in a quote.
func firstRunScript(user string, key PublicKey) []byte {
	return []byte(`#!/bin/sh
` + marker + ` for the plan's first user. Raspberry Pi OS runs it
# once, on first boot, through systemd.run= in cmdline.txt; it then removes
# itself and those arguments. Its output: hako-firstrun.log beside it.
set +e

FW=/boot
[ -f /boot/firmware/cmdline.txt ] && FW=/boot/firmware
exec >>"$FW/hako-firstrun.log" 2>&1
echo "hako sdcard first boot: $(date)"

NEW_USER='` + user + `'
KEY=$(cat <<'HAKO_KEY'
` + key.AuthorizedKey + `
HAKO_KEY
)

# The account that is (or becomes, through userconf.txt) the first user.
ENTRY=$(getent passwd "$NEW_USER" || getent passwd 1000)
KEY_OK=no
if [ -n "$ENTRY" ]; then
  ACCOUNT=$(echo "$ENTRY" | cut -d: -f1)
  HOME_DIR=$(echo "$ENTRY" | cut -d: -f6)
  install -d -m 700 -o "$ACCOUNT" -g "$(id -gn "$ACCOUNT")" "$HOME_DIR/.ssh"
  AUTH="$HOME_DIR/.ssh/authorized_keys"
  grep -qxF -- "$KEY" "$AUTH" 2>/dev/null || printf '%s\n' "$KEY" >>"$AUTH"
  chown "$ACCOUNT:$(id -gn "$ACCOUNT")" "$AUTH"
  chmod 600 "$AUTH"
  if grep -qxF -- "$KEY" "$AUTH"; then
    KEY_OK=yes
    echo "key installed for $ACCOUNT ($HOME_DIR)"
  else
    echo "the key could not be written to $AUTH"
  fi
else
  echo "no user $NEW_USER and no uid 1000: key not installed"
fi

# Passwordless sudo for hako (checked by visudo before it is put in place).
SUDOERS="/etc/sudoers.d/010_hako-$NEW_USER-nopasswd"
printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$NEW_USER" >"$SUDOERS.tmp"
chmod 0440 "$SUDOERS.tmp"
if visudo -cqf "$SUDOERS.tmp"; then
  mv "$SUDOERS.tmp" "$SUDOERS"
  echo "passwordless sudo for $NEW_USER"
else
  rm -f "$SUDOERS.tmp"
  echo "visudo refused the sudoers entry: not installed"
fi

# Key-only SSH, but only with the key in place: the user's password is
# random and unknown, so without the key nobody could log in at all.
if [ "$KEY_OK" != yes ]; then
  echo "password authentication left on: the key is not installed"
elif grep -q '^[#[:space:]]*PasswordAuthentication[[:space:]]' /etc/ssh/sshd_config; then
  sed -i 's/^[#[:space:]]*PasswordAuthentication[[:space:]].*/PasswordAuthentication no/' /etc/ssh/sshd_config
else
  echo 'PasswordAuthentication no' >>/etc/ssh/sshd_config
fi
systemctl enable ssh

# Once only: drop the arguments that started this script, then the script.
sed -i 's| systemd\.run=[^ ]*||; s| systemd\.run_success_action=[^ ]*||; s| systemd\.unit=kernel-command-line\.target||' "$FW/cmdline.txt"
rm -f "$FW/firstrun.sh"
echo "done"
exit 0
`)
}
