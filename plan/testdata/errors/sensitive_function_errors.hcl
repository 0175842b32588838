# A function that fails on a sensitive value would quote it: the detail is
# hidden, the place is named.
variable "s" {
  type      = string
  default   = "s3cr3t-MARK"
  sensitive = true
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

locals {
  n = parseint(var.s, 10) # ERROR: details are hidden
}

task "file" "f" {
  path    = "/etc/f"
  content = regex("^[0-9]+$", var.s) # ERROR: details are hidden
}

task "command" "c" {
  command = "echo ${tonumber(var.s)}" # ERROR: details are hidden
}
