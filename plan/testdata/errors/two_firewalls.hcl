host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "ufw" "a" {
  rule {
    port = 22
  }
}

task "ufw" "b" { # ERROR: Two ufw tasks on one host
  rule {
    port = 2222
  }
}
