# A local derived from a sensitive value stays sensitive.
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
  dir = "/srv/${var.s}"
}

task "directory" "d" {
  path = local.dir # ERROR: path cannot use a sensitive value
}

task "file" "f" {
  path    = "${local.dir}/\n" # ERROR: path cannot use a sensitive value
  content = "x"
}
