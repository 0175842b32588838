# Inputs of the Raspberry Pi home server. See README.md beside this file
# and vars/example.hcl for a filled-in set.

variable "address" {
  type        = string
  description = "Address hako connects to: the Pi's LAN or global IPv6 address."
}

variable "admin_user" {
  type        = string
  default     = "pi"
  description = "The user hako logs in as (key auth, passwordless sudo)."
}

variable "bootstrap_user" {
  type        = string
  default     = null
  description = "The user a freshly flashed card has (made by the imager); default: admin_user."
}

variable "bootstrap_port" {
  type        = number
  default     = 22
  description = "The SSH port of a freshly flashed card."
}

variable "identity_file" {
  type    = string
  default = "~/.ssh/id_ed25519"
}

variable "known_hosts" {
  type    = string
  default = "~/.ssh/known_hosts"
}

variable "ssh_port" {
  type        = number
  description = "The hardened SSH port. hako connects on it."
}

variable "extra_packages" {
  type        = list(string)
  default     = []
  description = "Packages to install besides ufw, ppp and pppoe (a web server, say)."
}

variable "lan_cidr" {
  type        = string
  default     = "192.168.0.0/24"
  description = "The home LAN: only it may reach VNC (5900)."
}

variable "lan_iface" {
  type        = string
  default     = "wlan0"
  description = "The LAN interface dhcpcd gives the static address (cards where dhcpcd owns the network)."
}

variable "lan_connection" {
  type        = string
  default     = "preconfigured"
  description = "The saved NetworkManager connection that gets the static address when no cable is up (cards where NetworkManager owns the network); Raspberry Pi Imager names its Wi-Fi one preconfigured on bookworm. With a cable up, or where its file is not in /etc/NetworkManager/system-connections, the plan saves a connection of its own, lan, on the Ethernet port instead (on a trixie card's netplan Wi-Fi with no cable: /etc/netplan/90-hako-lan.yaml)."
}

variable "static_address" {
  type        = string
  default     = "192.168.0.64/24"
  description = "The Pi's static LAN address, with prefix length."
}

variable "router" {
  type    = string
  default = "192.168.0.1"
}

variable "dns" {
  type    = list(string)
  default = ["192.168.0.1"]
}

variable "pppoe_iface" {
  type        = string
  default     = "eth1"
  description = "The NIC the PPPoE session runs on (a USB Ethernet adapter)."
}

# PPPoE is optional: without pppoe_user the plan sets up no PPPoE at all
# (no packages, files, connection or session for it) and needs no
# password.
variable "pppoe_user" {
  type        = string
  default     = null
  description = "The ISP user name; unset (null): no PPPoE."
}

variable "pppoe_password" {
  type        = string
  default     = null
  sensitive   = true
  description = "The ISP password; needed when pppoe_user is set."
}

variable "policy_table" {
  type        = number
  default     = 200
  description = "Routing table for replies to packets that arrived through PPPoE."
}

variable "policy_priority" {
  type    = number
  default = 200
}

variable "pppoe_connect" {
  type        = bool
  default     = true
  description = "Whether apply brings the PPPoE session up (false where there is no PPP, as on the test hosts)."
}
