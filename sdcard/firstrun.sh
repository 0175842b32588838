# shellcheck shell=sh
# NEW_USER (the first user's name) and KEY (its authorized_keys line) are
# set by the lines above this one, which hako sdcard writes for each card.
#
# Raspberry Pi OS runs this script once, on first boot, through systemd.run=
# in cmdline.txt; it then removes itself and those arguments. Its output:
# hako-firstrun.log beside it.
set +e

FW=/boot
[ -f /boot/firmware/cmdline.txt ] && FW=/boot/firmware
exec >>"$FW/hako-firstrun.log" 2>&1
echo "hako sdcard first boot: $(date)"

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
# No line may match `rm.*firstrun\.sh$`: the image's initramfs (imager_fixup)
# would cut the script at that line and append its own clean-up. The rm
# line ends in a quote.
sed -i 's| systemd\.run=[^ ]*||; s| systemd\.run_success_action=[^ ]*||; s| systemd\.unit=kernel-command-line\.target||' "$FW/cmdline.txt"
rm -f "$FW/firstrun.sh"
echo "done"
exit 0
