host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  path    = "/etc/motd"
  content = file("files/nope.txt") # ERROR: no file exists at "files/nope.txt"
}
