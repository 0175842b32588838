# Where a sensitive value may go, an error about it names the attribute but
# never quotes the value.
variable "s" {
  type      = string
  default   = "HUNTER2-secret"
  sensitive = true
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "command" "relative" {
  command = "true"
  creates = "run/${var.s}" # ERROR: creates must be an absolute path on the host, got a sensitive value (not shown)
}

task "command" "newline" {
  command = "true"
  creates = "/run/x\n${var.s}" # ERROR: creates must not contain control characters such as a newline or a tab, got a sensitive value (not shown)
}
