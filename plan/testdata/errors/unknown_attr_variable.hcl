variable "x" {
  type     = string
  default  = "a"
  required = true # ERROR: Unsupported argument
}
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

