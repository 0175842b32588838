host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "hosts" {
  path    = "/etc/hosts"
  content = templatefile("templates/loop.tftpl", { names = ["a"] }) # ERROR: vars map does not contain key "domain"
}
