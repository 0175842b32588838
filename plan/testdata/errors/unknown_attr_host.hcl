host "pi" {
  address  = "127.0.0.1"
  user     = "pi"
  password = "x" # ERROR: Unsupported argument
}
