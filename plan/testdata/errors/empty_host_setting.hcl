variable "addr" {
  type    = string
  default = null
}

host "pi" {
  address = var.addr # ERROR: address is null or empty
  user    = ""       # ERROR: user is null or empty
}
