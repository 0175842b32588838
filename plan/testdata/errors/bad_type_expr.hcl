host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

variable "names" {
  type = list(striing) # ERROR: Invalid type specification
}