host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  path   = "/etc/motd"
  source = "files/nope.txt" # ERROR: Cannot read source file
}
