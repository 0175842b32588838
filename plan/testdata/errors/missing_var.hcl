host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

variable "address" { # ERROR: No value for required variable
  type = string
}