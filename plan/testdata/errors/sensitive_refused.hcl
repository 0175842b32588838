# Only file content, commands and their guards, and authorized_keys may use a
# sensitive value; everywhere else it would be quoted in plans and errors.
variable "s" {
  type      = string
  default   = "HUNTER2-secret"
  sensitive = true
}

variable "p" {
  type      = number
  default   = 4242
  sensitive = true
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
  port    = var.p # ERROR: port cannot use a sensitive value
}

host "box" {
  address = var.s # ERROR: address cannot use a sensitive value
  user    = "pi"
}

task "file" "path" {
  path    = "/etc/${var.s}" # ERROR: path cannot use a sensitive value
  content = "TOKEN=${var.s}\n"
  mode    = var.s # ERROR: mode cannot use a sensitive value
  owner   = var.s # ERROR: owner cannot use a sensitive value
}

task "file" "validated" {
  path     = "/etc/app.conf"
  content  = "ok\n"
  validate = "check ${var.s} %s" # ERROR: validate cannot use a sensitive value
}

task "command" "use" {
  command = "login --token '${var.s}'"
  unless  = "test -e /root/${var.s}"
  hosts   = [var.s] # ERROR: hosts cannot use a sensitive value
  notify  = [var.s] # ERROR: notify cannot use a sensitive value
}

task "package" "pkgs" {
  names = [var.s] # ERROR: names cannot use a sensitive value
}

task "user" "admin" {
  name            = var.s # ERROR: name cannot use a sensitive value
  authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ${var.s}"]
}

task "ufw" "fw" {
  rule {
    port    = var.s # ERROR: port cannot use a sensitive value
    comment = var.s # ERROR: comment cannot use a sensitive value
  }
}

handler "restart" {
  service = var.s # ERROR: service cannot use a sensitive value
  action  = "restart"
}
