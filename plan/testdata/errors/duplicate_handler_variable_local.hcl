variable "v" {}
variable "v" {} # ERROR: Duplicate variable

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

locals {
  l = 1
}
locals {
  l = 2 # ERROR: Duplicate local
}

handler "restart" {
  command = "true"
}
handler "restart" { # ERROR: Duplicate handler
  command = "false"
}
