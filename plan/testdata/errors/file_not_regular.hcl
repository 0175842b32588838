host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

# Read forever (memory runs out) or wait forever: refused.
task "file" "zero" {
  path    = "/etc/zero"
  content = file("/dev/zero") # ERROR: it is not a regular file
}

task "file" "stdin" {
  path    = "/etc/stdin"
  content = templatefile("/dev/stdin", {}) # ERROR: it is not a regular file
}
