host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "app" {
  path   = "/opt/app"
  notify = ["restart_app"] # ERROR: There is no handler named "restart_app"
}