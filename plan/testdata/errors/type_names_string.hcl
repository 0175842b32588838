host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "package" "tools" {
  names = "vim htop" # ERROR: names must be list of string
}
