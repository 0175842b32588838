host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" { # ERROR: set exactly one of content or source
  path    = "/etc/motd"
  content = "a"
  source  = "b"
}