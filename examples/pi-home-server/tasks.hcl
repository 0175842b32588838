# The steps of the manual setup this plan reproduces (see README.md):
# packages, static address, SSH hardening, firewall, PPPoE and source
# policy routing. Tasks run in file name order
# (host.hcl, tasks.hcl, variables.hcl) and then in the order written.
#
# Two kinds of card, one plan: where NetworkManager owns the network
# (Raspberry Pi OS bookworm and later, host.facts.network says so) the
# static address and PPPoE are NetworkManager connections; elsewhere
# (older cards: dhcpcd, ifupdown, pppoeconf's files) they are the files
# those read. hako reads the facts from the host before it plans.

task "package" "base" {
  # NetworkManager runs PPPoE with pppd and its rp-pppoe plugin (package
  # ppp); pon and the ifupdown stanza of older cards need pppoe too.
  names = concat(
    ["ufw"],
    local.pppoe ? ["ppp"] : [],
    local.pppoe && host.facts.network != "networkmanager" ? ["pppoe"] : [],
    var.extra_packages
  )
}

# The admin user hako logs in as once SSH is hardened, created over the
# bootstrap connection before anything else can cut it.
task "user" "admin" {
  when            = var.admin_user != local.bootstrap_user
  name            = var.admin_user
  groups          = ["sudo"]
  authorized_keys = [file("${var.identity_file}.pub")]
  sudo            = "nopasswd"
}

task "file" "dhcpcd" {
  when = host.facts.network != "networkmanager"
  path = "/etc/dhcpcd.conf"
  content = templatefile("templates/dhcpcd.conf.tftpl", {
    interface       = var.lan_iface
    address         = var.static_address
    router          = var.router
    dns             = var.dns
    deny_interfaces = [var.pppoe_iface, "ppp0"]
  })
  mode  = "0644"
  owner = "root"
  group = "root"
}

# The static address, where NetworkManager owns the network, goes on the
# cable when one is up: a home server belongs on the LAN by cable, and a
# card with both the Wi-Fi Imager set and a cable plugged in gets it
# there, not on the Wi-Fi (which keeps its DHCP address). The profile is
# chosen from host.facts.nm_connections:
#
# - A cable is up (an Ethernet profile active on a port other than the
#   PPPoE NIC): the plan saves a profile of its own, "lan", bound to that
#   port (the port "lan" is up on once it is, so that a second Ethernet
#   port up later does not move it), unless lan_connection is itself that
#   Ethernet profile saved in /etc (then it is edited, as below). The
#   profile NetworkManager brought the port up with stays as it is: its
#   automatic "Wired connection 1" (DHCP, kept in /run only and made
#   again at each boot), or on a cloud-init card (Raspberry Pi OS trixie)
#   netplan's "netplan-eth0", which netplan writes again at each boot
#   from /etc/netplan. "lan" wins over either at the next boot: it has
#   autoconnect-priority 10, the automatic profile -999 and netplan's the
#   default 0; and NetworkManager makes no automatic profile for a port a
#   saved one fits.
# - No cable, and Imager saved the Wi-Fi connection in /etc
#   (lan_connection, "preconfigured", bookworm): that one gets the
#   address; its SSID, Wi-Fi key and uuid stay.
# - No cable, and the Wi-Fi is netplan's (a cloud-init card: Imager's
#   network-config, rendered by cloud-init to /etc/netplan, from which
#   netplan generates "netplan-wlan0-SSID" in /run at each boot): a
#   NetworkManager profile of hako's own would need the Wi-Fi key, which
#   only netplan's file holds, and editing netplan's profile would not
#   last. So the plan adds a netplan file of its own that netplan merges
#   over cloud-init's: the same Wi-Fi device with the static address; the
#   network name and key stay in cloud-init's file.
#
# None is brought up now: that would move the address hako is connected
# to under the run. NetworkManager applies it when the connection next
# comes up (netplan's file when netplan next generates, at boot), at the
# next boot, as dhcpcd does on older cards.
task "nm_connection" "lan" {
  when = host.facts.network == "networkmanager" && contains([for c in host.facts.nm_connections : c.file], "/etc/NetworkManager/system-connections/${var.lan_connection}.nmconnection") && (contains([for c in host.facts.nm_connections : c.file if c.type == "ethernet"], "/etc/NetworkManager/system-connections/${var.lan_connection}.nmconnection") || length([for c in host.facts.nm_connections : c.device if c.type == "ethernet" && c.state == "activated" && c.device != var.pppoe_iface]) == 0)
  name = var.lan_connection
  up   = false
  ipv4 {
    method    = "manual"
    addresses = [var.static_address]
    gateway   = var.router
    dns       = var.dns
  }
}

task "nm_connection" "lan_wired" {
  when        = host.facts.network == "networkmanager" && !(contains([for c in host.facts.nm_connections : c.file], "/etc/NetworkManager/system-connections/${var.lan_connection}.nmconnection") && (contains([for c in host.facts.nm_connections : c.file if c.type == "ethernet"], "/etc/NetworkManager/system-connections/${var.lan_connection}.nmconnection") || length([for c in host.facts.nm_connections : c.device if c.type == "ethernet" && c.state == "activated" && c.device != var.pppoe_iface]) == 0)) && !(length([for c in host.facts.nm_connections : c.device if c.type == "ethernet" && c.state == "activated" && c.device != var.pppoe_iface]) == 0 && length([for c in host.facts.nm_connections : c.device if c.netplan && c.type == "wifi" && c.state == "activated"]) > 0)
  name        = "lan"
  type        = "ethernet"
  interface   = concat([for c in host.facts.nm_connections : c.device if c.name == "lan" && c.state == "activated"], [for c in host.facts.nm_connections : c.device if c.type == "ethernet" && c.state == "activated" && c.device != var.pppoe_iface])[0] # no lan_connection file, no Ethernet port up and no netplan Wi-Fi up: set lan_connection to the saved profile to edit
  autoconnect = true
  up          = false
  ipv4 {
    method    = "manual"
    addresses = [var.static_address]
    gateway   = var.router
    dns       = var.dns
  }
  autoconnect_priority = 10
}

# netplan reads /etc/netplan/*.yaml in name order and merges a later file
# over an earlier one key by key, so this file (after cloud-init's
# 50-cloud-init.yaml) turns DHCP off on the Wi-Fi device and gives it the
# static address, gateway and DNS; the access point and its key come from
# cloud-init's file. netplan wants its files readable by root only.
task "file" "netplan_lan" {
  when    = host.facts.network == "networkmanager" && !contains([for c in host.facts.nm_connections : c.file], "/etc/NetworkManager/system-connections/${var.lan_connection}.nmconnection") && length([for c in host.facts.nm_connections : c.device if c.type == "ethernet" && c.state == "activated" && c.device != var.pppoe_iface]) == 0 && length([for c in host.facts.nm_connections : c.device if c.netplan && c.type == "wifi" && c.state == "activated"]) > 0
  path    = "/etc/netplan/90-hako-lan.yaml"
  content = <<-EOT
    # hako (examples/pi-home-server): the static LAN address on the Wi-Fi
    # that cloud-init's network-config set up; netplan merges this file
    # over that one at boot.
    network:
      version: 2
      wifis:
        ${jsonencode(concat([for c in host.facts.nm_connections : c.device if c.netplan && c.type == "wifi" && c.state == "activated"], [""])[0])}:
          dhcp4: false
          addresses: ${jsonencode([var.static_address])}
          routes:
            - to: default
              via: ${jsonencode(var.router)}
          nameservers:
            addresses: ${jsonencode(var.dns)}
  EOT
  mode    = "0600"
  owner   = "root"
  group   = "root"
}

# The firewall goes up before sshd changes: the SSH port is allowed first.
task "ufw" "firewall" {
  default_incoming = "deny"
  default_outgoing = "allow"
  ipv6             = true
  exclusive        = true

  rule {
    port    = var.ssh_port
    comment = "ssh"
  }
  rule {
    port    = 5900
    from    = var.lan_cidr
    comment = "vnc from the LAN only"
  }
  rule {
    port    = 80
    comment = "http"
  }
  rule {
    port    = 443
    comment = "https"
  }
}

task "file" "sshd_hardening" {
  path = "/etc/ssh/sshd_config.d/10-hako-hardening.conf"
  content = templatefile("templates/sshd-hardening.conf.tftpl", {
    port = var.ssh_port
  })
  mode     = "0644"
  owner    = "root"
  group    = "root"
  validate = "/usr/sbin/sshd -t -f %s"
  notify   = ["restart_ssh"]
}

task "file" "ppp_peer" {
  when = local.pppoe && host.facts.network != "networkmanager"
  path = "/etc/ppp/peers/${local.provider}"
  content = templatefile("templates/ppp-peer.tftpl", {
    provider = local.provider
    nic      = var.pppoe_iface
    user     = var.pppoe_user
  })
  mode  = "0640"
  owner = "root"
  group = "dip"
}

task "file" "chap_secrets" {
  when    = local.pppoe && host.facts.network != "networkmanager"
  path    = "/etc/ppp/chap-secrets"
  content = local.ppp_secrets
  mode    = "0600"
  owner   = "root"
  group   = "root"
}

task "file" "pap_secrets" {
  when    = local.pppoe && host.facts.network != "networkmanager"
  path    = "/etc/ppp/pap-secrets"
  content = local.ppp_secrets
  mode    = "0600"
  owner   = "root"
  group   = "root"
}

task "directory" "interfaces_d" {
  when = local.pppoe && host.facts.network != "networkmanager"
  path = "/etc/network/interfaces.d"
  mode = "0755"
}

task "file" "interfaces_pppoe" {
  when = local.pppoe && host.facts.network != "networkmanager"
  path = "/etc/network/interfaces.d/${local.provider}"
  content = templatefile("templates/interfaces-pppoe.tftpl", {
    provider  = local.provider
    nic       = var.pppoe_iface
    autostart = var.pppoe_connect
  })
  mode = "0644"
}

task "file" "policy_routing_up" {
  when = local.pppoe && host.facts.network != "networkmanager"
  path = "/etc/ppp/ip-up.d/10${local.provider}"
  content = templatefile("templates/ppp-ip-up.tftpl", {
    table    = var.policy_table
    priority = var.policy_priority
  })
  mode = "0755"
}

task "file" "policy_routing_down" {
  when = local.pppoe && host.facts.network != "networkmanager"
  path = "/etc/ppp/ip-down.d/10${local.provider}"
  content = templatefile("templates/ppp-ip-down.tftpl", {
    table    = var.policy_table
    priority = var.policy_priority
  })
  mode = "0755"
}

# One PPPoE session, never two (the ISP allows 1-2). The session is its
# pppd ("pppd call dsl-provider", as pon starts it and poff finds it), not
# ppp0: with persist, pppd stays while the line is down and redials by
# itself, and ppp0 comes and goes. Start it when no such pppd runs; after
# the peer or secrets files changed, poff first, wait until that pppd has
# exited, then pon. The checksums of the files the session was started with
# are kept in a root-only file, not on any command line.
task "command" "pppoe_session" {
  when    = local.pppoe && var.pppoe_connect && host.facts.network != "networkmanager"
  command = <<-EOT
    set -e
    pppd_runs() { pgrep -f '${local.pppd}' >/dev/null; }
    if pppd_runs; then
      poff ${local.provider} || true
      i=0; while pppd_runs && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done
      ! pppd_runs
    fi
    pon ${local.provider}
    i=0; until pppd_runs || [ $i -ge 10 ]; do sleep 1; i=$((i+1)); done
    pppd_runs
    install -d -m 0700 /var/lib/hako
    sha256sum ${join(" ", local.pppoe_files)} > /var/lib/hako/pppoe-${local.provider}.sums
  EOT
  unless  = "pgrep -f '${local.pppd}' >/dev/null && sha256sum ${join(" ", local.pppoe_files)} | cmp -s - /var/lib/hako/pppoe-${local.provider}.sums"
}

# PPPoE where NetworkManager owns the network: the dispatcher script for
# the policy routing that ip-up.d does on older cards, first, so that it
# is in place for the connection's first "up"; then a connection of its
# own on the USB NIC (NetworkManager runs pppd, redials, and keeps one
# session). With pppoe_connect it connects now and at every boot.
task "file" "nm_policy_routing" {
  when = local.pppoe && host.facts.network == "networkmanager"
  path = "/etc/NetworkManager/dispatcher.d/90-hako-pppoe-${local.provider}"
  content = templatefile("templates/nm-dispatcher-pppoe.tftpl", {
    connection = local.provider
    table      = var.policy_table
    priority   = var.policy_priority
  })
  mode  = "0755"
  owner = "root"
  group = "root"
}

task "nm_connection" "pppoe" {
  when        = local.pppoe && host.facts.network == "networkmanager"
  name        = local.provider
  type        = "pppoe"
  interface   = var.pppoe_iface
  username    = var.pppoe_user
  password    = var.pppoe_password
  autoconnect = var.pppoe_connect
  up          = var.pppoe_connect
}

handler "restart_ssh" {
  service = "ssh"
  action  = "restart"
}
