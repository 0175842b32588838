host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  path    = "/etc/motd"
  content = "hello ${var.x" # ERROR: Unclosed template interpolation sequence # ERROR: Invalid multi-line string
} # ERROR: Invalid multi-line string
