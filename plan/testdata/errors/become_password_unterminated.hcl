host "pi" {
  address         = "127.0.0.1"
  user            = "pi"
  become          = true
  become_password = "s3cr3t-MARK # ERROR: Invalid multi-line string # ERROR: Unterminated template string
} # ERROR: Invalid multi-line string
