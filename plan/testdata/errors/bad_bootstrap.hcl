host "pi" {
  address = "127.0.0.1"
  user    = "admin"
  port    = 2222

  bootstrap {
    port  = 0 # ERROR: Invalid port
    shell = "bash" # ERROR: Unsupported argument
  }
}
