host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "ufw" "fw" {
  rule {
    port = 22
    from = "10.0.0.0/33" # ERROR: Invalid source address
  }
  rule {
    port = 22
    from = "192.168.1.300" # ERROR: Invalid source address
  }
  rule {
    port = 22
    from = "fd00::/129" # ERROR: Invalid source address
  }
}
