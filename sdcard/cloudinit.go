package sdcard

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// cloudInitFiles plans the files of a CloudInit image: user-data, and
// meta-data only if the image lost its own (NoCloud wants both).
// network-config is never touched: the image's default brings up Ethernet
// with DHCP, and the plan holds no Wi-Fi credentials. What it brings up is
// said, though, since the person must know whether to boot on a cable.
func cloudInitFiles(c *card, user string, key PublicKey) error {
	name, _ := c.existing("user-data")
	old, err := c.read(name)
	if err != nil {
		return err
	}
	if line, ok := firstSetting(old); ok && !isOurs(old) {
		return fmt.Errorf("%s/%s already has settings of its own (%q), so hako leaves it as it is: "+
			"delete it (or reflash the card) to let hako sdcard write it", c.dir, name, line)
	}
	data := userData(user, key)
	c.write(name, data, 0o644, "on first boot cloud-init creates the user with the key, passwordless sudo, key-only SSH and sshd enabled")

	if n, ok := c.existing("meta-data"); ok {
		c.keep(n, "the image's own NoCloud instance settings")
	} else {
		c.write("meta-data", metaData(data), 0o644, "NoCloud instance settings, which cloud-init needs beside user-data")
	}
	if n, ok := c.existing("network-config"); ok {
		netcfg, err := c.read(n)
		if err != nil {
			return err
		}
		c.keep(n, networkConfigNote(netcfg))
	}
	return nil
}

// networkConfigNote says what a network-config brings up at first boot:
// cloud-init hands it to netplan, which has NetworkManager run the
// interfaces it names (the image's own names eth0, by DHCP; Raspberry Pi
// Imager's names the Wi-Fi it was given). Only the interface names under
// ethernets and wifis are read, by their indentation: never an access
// point or its key.
func networkConfigNote(data []byte) string {
	var eth, wifi []string
	section, secIndent, childIndent := "", 0, -1
	for l := range strings.SplitSeq(string(data), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		key, _, _ := strings.Cut(t, ":")
		key = strings.Trim(strings.TrimSpace(key), `"'`)
		switch {
		case section != "" && indent > secIndent:
			if childIndent < 0 {
				childIndent = indent
			}
			if indent == childIndent && section == "ethernets" {
				eth = append(eth, key)
			} else if indent == childIndent {
				wifi = append(wifi, key)
			}
			continue
		case key == "ethernets" || key == "wifis":
			section, secIndent, childIndent = key, indent, -1
			continue
		}
		section = ""
	}
	if len(eth) == 0 && len(wifi) == 0 {
		return "names no interface: NetworkManager brings a cable up by DHCP; boot the Pi on a cable"
	}
	var parts []string
	if len(eth) > 0 {
		parts = append(parts, "Ethernet "+strings.Join(eth, ", "))
	}
	if len(wifi) > 0 {
		parts = append(parts, "Wi-Fi "+strings.Join(wifi, ", ")+" (as written there)")
	}
	return "left as it is: at first boot netplan brings up " + strings.Join(parts, " and ") + " by NetworkManager"
}

// firstSetting returns the first line of a YAML file that is not blank
// and not a comment: the images ship user-data with every example
// commented out.
func firstSetting(data []byte) (string, bool) {
	for l := range strings.SplitSeq(string(data), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			return t, true
		}
	}
	return "", false
}

// userData is a #cloud-config for the first user, modelled on what
// Raspberry Pi Imager writes for a key (rpi-imager generateCloudInitUserData):
//   - `user:` (one user), not `users:`: it renames and extends the
//     distribution's default user, keeping its groups (sudo, gpio, video,
//     ...); a `users:` list without "default" creates an account in no
//     group at all;
//   - lock_passwd: no password at all, log in with the key;
//   - sudo NOPASSWD both in the user entry and as a sudoers file written by
//     runcmd, as Imager does, because hako runs `sudo -n` and Raspberry Pi
//     OS no longer grants it to the first user by default;
//   - ssh_pwauth: false, and sshd enabled by runcmd: cloud-init's ssh module
//     writes keys but never enables the service, which Raspberry Pi OS
//     ships disabled.
func userData(user string, key PublicKey) []byte {
	sudoers := "/etc/sudoers.d/010_hako-" + user + "-nopasswd"
	return []byte(`#cloud-config
` + marker + ` for the plan's first user; cloud-init applies it on
# first boot. network-config is left as the image has it.
user:
  name: ` + user + `
  shell: /bin/bash
  lock_passwd: true
  ssh_authorized_keys:
    - "` + key.AuthorizedKey + `"
  sudo: "ALL=(ALL) NOPASSWD:ALL"
ssh_pwauth: false
runcmd:
  - ["sh", "-c", "echo '` + user + ` ALL=(ALL) NOPASSWD:ALL' > ` + sudoers + ` && chmod 0440 ` + sudoers + `"]
  - ["systemctl", "enable", "--now", "ssh"]
`)
}

// metaData is written only when the card has none. Its instance-id
// follows user-data, so that a changed user-data is a new instance to
// cloud-init, and the same one stays the same file.
func metaData(userData []byte) []byte {
	sum := sha256.Sum256(userData)
	return []byte(marker + `: cloud-init's NoCloud data source
# needs this file beside user-data.
dsmode: local
instance-id: hako-` + hex.EncodeToString(sum[:6]) + "\n")
}
