host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "app" {
  path = "/opt/app"
  when = [true] # ERROR: when must be true or false
}
