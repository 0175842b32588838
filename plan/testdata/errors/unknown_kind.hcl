host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "frobnicate" "x" { # ERROR: Unknown task kind
}