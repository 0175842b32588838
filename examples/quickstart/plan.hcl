# The quick-start plan: a directory, a templated file, a secret file, a
# guarded command and a handler. `make demo` applies it to a disposable
# local test host; point `address` at your own machine to try it there.

variable "address" {
  type        = string
  description = "The host to configure."
}

variable "port" {
  type    = number
  default = 22
}

variable "user" {
  type    = string
  default = "pi"
}

variable "identity_file" {
  type    = string
  default = "~/.ssh/id_ed25519"
}

variable "known_hosts" {
  type    = string
  default = "~/.ssh/known_hosts"
}

variable "greeting" {
  type    = string
  default = "hello"
}

variable "token" {
  type        = string
  sensitive   = true
  description = "Never shown in any output, diff or error."
}

host "pi" {
  address       = var.address
  port          = var.port
  user          = var.user
  identity_file = var.identity_file
  known_hosts   = var.known_hosts
  become        = true # tasks run through sudo -n
}

task "directory" "app" {
  path  = "/opt/app"
  mode  = "0750"
  owner = "root"
}

task "file" "motd" {
  path    = "/etc/motd"
  content = templatefile("templates/motd.tftpl", { greeting = var.greeting, host = host.name })
  mode    = "0644"
  notify  = ["reload_motd"]
}

task "file" "secret" {
  path    = "/etc/app.env"
  content = "TOKEN=${var.token}\n"
  mode    = "0600"
}

task "command" "marker" {
  command = "touch /opt/app/.initialised"
  creates = "/opt/app/.initialised"
}

handler "reload_motd" {
  command = "logger motd changed"
}
