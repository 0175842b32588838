host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "app" {
  path  = "/opt/app"
  hosts = ["web"] # ERROR: There is no host named "web"
}