# A template that fails on a sensitive value it was given.
variable "s" {
  type      = string
  default   = "s3cr3t-MARK"
  sensitive = true
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "f" {
  path    = "/etc/f"
  content = templatefile("templates/number.tftpl", { pw = var.s }) # ERROR: details are hidden
}
