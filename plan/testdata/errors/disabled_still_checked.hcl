# A task or handler that runs on no host is still checked, as Terraform
# checks a resource with count = 0.
variable "pppoe" {
  type    = bool
  default = false
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "off" {
  path = "opt/app" # ERROR: must be an absolute path
  when = var.pppoe
}

task "file" "nowhere" {
  path    = "/etc/x"
  content = "x\n"
  mode    = "bogus" # ERROR: octal permission string
  hosts   = []
}

task "file" "per_host" {
  path    = "/etc/${host.name}.conf"
  content = "x\n"
  mode    = "0644"
  when    = false
}

handler "h" {
  when    = false
  command = "true"
  bogus   = 1 # ERROR: Unsupported argument
}
