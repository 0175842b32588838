host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "a" {
  path = "/opt/a"
  mode = "0888" # ERROR: Invalid mode
}

task "directory" "b" {
  path = "/opt/b"
  mode = "17777" # ERROR: Invalid mode
}

task "file" "c" {
  path    = "/etc/c"
  content = "c"
  mode    = "u=rw" # ERROR: Invalid mode
}
