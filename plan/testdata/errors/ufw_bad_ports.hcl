host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "ufw" "fw" {
  rule {
    port = 0 # ERROR: Invalid port
  }
  rule {
    port = 65536 # ERROR: Invalid port
  }
  rule {
    port = "ssh-ish" # ERROR: Invalid port
  }
}
