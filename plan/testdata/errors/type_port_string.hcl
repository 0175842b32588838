host "pi" {
  address = "127.0.0.1"
  user    = "pi"
  port    = "ssh" # ERROR: port must be a number from 1 to 65535
}
