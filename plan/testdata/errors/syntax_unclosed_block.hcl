host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "app" { # ERROR: Unclosed configuration block
  path = "/opt/app"
