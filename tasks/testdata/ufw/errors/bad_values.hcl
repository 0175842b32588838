task "ufw" "firewall" {
  default_incoming = "drop" # ERROR: default_incoming must be "deny", "allow" or "reject", got "drop"
  rule {
    port = 70000 # ERROR: "70000" is not a port number (1 to 65535)
  }
  rule {
    port   = 22
    action = "permit" # ERROR: action must be "allow", "deny", "limit" or "reject", got "permit"
  }
  rule {
    port = 22
    from = "10.0.0.300/8" # ERROR: from must be "any", an IP address or a network such as "192.168.0.0/24", got "10.0.0.300/8"
  }
  rule {
    port = "6000:6007" # ERROR: a port range or list needs proto = "tcp" or "udp"
  }
  rule {
    port    = 25
    comment = "it's" # ERROR: ufw cannot store a comment with "'" in it
  }
  rule { # ERROR: a rule needs a port or a from address
    proto = "tcp"
  }
  rule {
    port  = "8000:7000" # ERROR: the range "8000:7000" must go from a lower to a higher port
    proto = "tcp"
  }
  rule {
    port  = 22
    proto = "icmp" # ERROR: proto must be "tcp", "udp" or "any", got "icmp"
  }
  rule {
    port = 22
    to   = "10.0.0.1" # ERROR: Unsupported argument
  }
  rule {
    port = "ssh" # ERROR: "ssh" is not a port number
  }
  rule {
    port    = 0      # ERROR: "0" is not a port number (1 to 65535)
    comment = "a\nb" # ERROR: ufw cannot store a comment with "\n" in it
  }
}
