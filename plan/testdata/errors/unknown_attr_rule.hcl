host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "ufw" "fw" {
  rule {
    port  = 22
    allow = true # ERROR: Unsupported argument
  }
}
