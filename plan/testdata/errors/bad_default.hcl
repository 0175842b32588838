host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

variable "port" {
  type    = number
  default = "twenty-two" # ERROR: Invalid default value for variable
}