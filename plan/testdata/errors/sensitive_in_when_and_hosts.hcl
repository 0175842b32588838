variable "s" {
  type      = string
  default   = "s3cr3t-MARK"
  sensitive = true
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "d" {
  path  = "/srv/d"
  hosts = [for h in [var.s] : h] # ERROR: hosts cannot use a sensitive value
}

handler "h" {
  command = "true" # ERROR: Unsupported argument
  service = var.s # ERROR: service cannot use a sensitive value
}
