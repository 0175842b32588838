task "ufw" "firewall" {
  rule { port = 22 }
  rule { # ERROR: Duplicate firewall rule
    port   = 22
    action = "deny"
  }
  rule {
    port = 80
    from = "0.0.0.0/0"
  }
  rule { # ERROR: this rule is for the same port, protocol and source as rule 3 (allow 80 from 0.0.0.0/0)
    port = 80
  }
  rule {
    port  = 80
    proto = "tcp"
  }
}
