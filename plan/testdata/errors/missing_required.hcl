host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" { # ERROR: Missing required argument
  content = "hi"
}