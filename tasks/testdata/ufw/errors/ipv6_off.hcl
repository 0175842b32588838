task "ufw" "firewall" {
  ipv6    = false
  enabled = "maybe" # ERROR: Incorrect attribute value type
  rule {
    port = 22
    from = "fd00::/8" # ERROR: fd00::/8 is an IPv6 source, but the task sets ipv6 = false
  }
  rule {
    port = 22
    from = "fe80::1%eth0" # ERROR: Invalid source address
  }
  rule {
    port = "80,80" # ERROR: lists a port twice
    proto = "tcp"
  }
}
