host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

variable "s" {
  sensitive = true
  default   = "s3cr3t-MARK ${" # ERROR: Invalid multi-line string # ERROR: Unterminated template string
} # ERROR: Invalid multi-line string
