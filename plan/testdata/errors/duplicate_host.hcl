host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

host "pi" { # ERROR: Duplicate host
  address = "127.0.0.2"
  user    = "pi"
}
