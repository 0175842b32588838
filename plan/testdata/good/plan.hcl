variable "address" { type = string }
variable "greeting" {
  type    = string
  default = "hello"
}
variable "token" {
  type      = string
  sensitive = true
}
variable "ports" {
  type    = list(number)
  default = [80]
}

locals {
  # Declared before what it uses: locals are ordered by reference.
  banner = "${local.prefix} ${var.greeting}"
  prefix = upper("hako")
}

host "pi" {
  address       = var.address
  port          = 2222
  user          = "pi"
  identity_file = "keys/id_ed25519"
  become        = true
}

host "web" {
  address = "127.0.0.9"
  user    = "admin"
}

task "directory" "app" {
  path  = "/opt/app"
  mode  = "0750"
  owner = "root"
}

task "file" "motd" {
  path    = "/etc/motd"
  content = templatefile("templates/motd.tftpl", { greeting = local.banner, host = host.name, ports = var.ports })
  mode    = "0644"
  notify  = ["reload_motd"]
}

task "file" "secret" {
  hosts   = ["pi"]
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
