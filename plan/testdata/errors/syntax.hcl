host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "x" {
  path = # ERROR: Invalid expression
}