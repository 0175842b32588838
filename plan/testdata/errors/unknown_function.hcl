host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  path    = "/etc/motd"
  content = shout("hi") # ERROR: Call to unknown function
}