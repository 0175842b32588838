task "ufw" "firewall" {
  rule {
    port    = 514
    proto   = "udp"
    comment = "log" # ERROR: ufw reads the comment "log" as its keyword "log", so ufw refuses the rule
  }
  rule {
    port    = 515
    comment = "log-all" # ERROR: ufw reads the comment "log-all" as its keyword "log-all"
  }
  rule {
    port    = 516
    comment = "in" # ERROR: ufw reads the comment "in" as its keyword "in"
  }
  rule {
    port    = 517
    from    = "10.0.0.0/8"
    comment = "out" # ERROR: ufw reads the comment "out" as its keyword "out"
  }
  rule {
    port    = 518
    comment = "--rootdir=/tmp" # ERROR: ufw reads a comment starting with "--rootdir=" as its option --rootdir
  }
  rule {
    port    = 519
    comment = "--datadir=x" # ERROR: Invalid comment
  }
  # Only the exact words: these are fine.
  rule {
    port    = 520
    comment = "log server"
  }
  rule {
    port    = 521
    comment = "LOG"
  }
  rule {
    port    = 522
    comment = "in-house --rootdir=x"
  }
}
