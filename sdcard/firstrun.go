package sdcard

import (
	"bytes"
	_ "embed" // for firstrun.sh
	"fmt"
	"io"
	"strings"

	"github.com/hako-dev/hako/hosts"
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
	script, err := firstRunScript(user, key)
	if err != nil {
		return err
	}
	c.write("firstrun.sh", script, 0o755,
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
// line of firstrun.sh ends in a quote, and so does every line of the
// header, since no value may hold a line break.
//
// The script is a header built here, which sets the values as shell
// variables (each quoted with hosts.Quote), then the fixed body in
// firstrun.sh: no value is pasted into the shell's text, so a name or a
// key comment cannot change what the script does, and shellcheck checks
// the body as it runs.
func firstRunScript(user string, key PublicKey) ([]byte, error) {
	h, err := firstRunHeader(user, key.AuthorizedKey)
	if err != nil {
		return nil, err
	}
	return []byte(h + firstRunBody), nil
}

//go:embed firstrun.sh
var firstRunBody string

// firstRunHeader is the start of firstrun.sh: the shebang, the marker on
// the second line (isOurs), then NEW_USER and KEY, which firstrun.sh uses.
// Prepare has checked the name and LoadPublicKey has kept only plain
// characters of the key's comment; quoting keeps any other value exact.
func firstRunHeader(user, key string) (string, error) {
	for _, v := range []string{user, key} {
		if strings.ContainsAny(v, "\n\r") {
			return "", fmt.Errorf("the user name or key holds a line break, which firstrun.sh cannot carry")
		}
	}
	return "#!/bin/sh\n" +
		marker + " for the plan's first user.\n" +
		"NEW_USER=" + hosts.Quote(user) + "\n" +
		"KEY=" + hosts.Quote(key) + "\n", nil
}
