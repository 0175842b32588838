host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  path    = "/etc/motd"
  content = templatefile("templates/hello.tftpl", { other = 1 }) # ERROR: vars map does not contain key "name"
}