# More places a sensitive value may not go; no message shows it.
variable "s" {
  type      = string
  default   = "s3cr3t-MARK"
  sensitive = true
}

host "pi" {
  address       = "127.0.0.1"
  user          = "pi"
  become        = true
  become_user   = var.s # ERROR: become_user cannot use a sensitive value
  identity_file = "~/.ssh/${var.s}" # ERROR: identity_file cannot use a sensitive value
  known_hosts   = lower(var.s) # ERROR: known_hosts cannot use a sensitive value
}

task "directory" "d" {
  path = "/srv/${var.s}" # ERROR: path cannot use a sensitive value
}

task "user" "u" {
  name  = "app"
  shell = "/bin/${var.s}" # ERROR: shell cannot use a sensitive value
}

task "service" "svc" {
  name = "${var.s}.service" # ERROR: name cannot use a sensitive value
}
