host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

handler "restart" {
  service = "ssh"
  command = "x" # ERROR: Unsupported argument
}
