host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  path    = "/etc/motd"
  content = "hi"
  bogus   = 1 # ERROR: Unsupported argument
}