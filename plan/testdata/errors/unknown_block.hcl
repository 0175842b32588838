host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

server "x" { # ERROR: Unsupported block type
}