host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "motd" {
  content = "hi\n"
  path    = "/etc/motd # ERROR: Invalid multi-line string # ERROR: Unterminated template string
} # ERROR: Invalid multi-line string
