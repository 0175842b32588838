host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  path    = ["/etc/motd"] # ERROR: Incorrect attribute value type
  content = "hi"
}