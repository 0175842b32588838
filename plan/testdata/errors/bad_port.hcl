host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

host "web" {
  address = "127.0.0.2"
  user    = "pi"
  port    = 70000 # ERROR: Invalid port
}