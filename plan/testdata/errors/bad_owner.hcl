host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "a" {
  path  = "/opt/a"
  owner = "root:root" # ERROR: Invalid owner
}

task "file" "b" {
  path    = "/etc/b"
  content = "b"
  group   = "-wheel" # ERROR: Invalid group
}

task "user" "c" {
  name = "Bad User" # ERROR: Invalid user name
}
