host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  path    = "/etc/motd"
  content = templatefile("templates/nope.tftpl", {}) # ERROR: no file exists at "templates/nope.tftpl"
}