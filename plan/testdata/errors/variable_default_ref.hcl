variable "a" {
  default = "x"
}
variable "b" {
  default = var.a # ERROR: Variables not allowed
}
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

