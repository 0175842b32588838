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

task "file" "source" {
  path   = "/etc/source"
  source = "/dev/zero" # ERROR: /dev/zero is not a regular file
}

task "file" "folder" {
  path   = "/etc/folder"
  source = "templates" # ERROR: is not a regular file
}
