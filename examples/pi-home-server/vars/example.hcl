# hako apply examples/pi-home-server -var-file examples/pi-home-server/vars/example.hcl
# Keep the password out of files: give it as HAKO_VAR_pppoe_password (see ../README.md).
address        = "192.168.0.64"
# A card flashed with today's Raspberry Pi Imager has no pi: the user you
# chose there.
admin_user     = "pi"
identity_file  = "~/.ssh/id_ed25519"
ssh_port       = 50022
lan_cidr       = "192.168.0.0/24"
lan_iface      = "wlan0"         # where dhcpcd owns the network (older cards)
lan_connection = "preconfigured" # where NetworkManager does (Imager's Wi-Fi connection; none on a cable: the plan saves its own, lan)
static_address = "192.168.0.64/24"
router         = "192.168.0.1"
dns            = ["192.168.0.1"]
pppoe_iface    = "eth1"
# Leave out pppoe_user (and the password) for no PPPoE at all.
pppoe_user     = "user@isp.example"
policy_table   = 200
pppoe_connect  = true
