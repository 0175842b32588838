# The plan the variables files beside this folder are given to, each with
# -var-file. Every variable has a default: a case is about its own lines.
variable "n" {
  type    = number
  default = 1
}

variable "s" {
  type    = string
  default = "x"
}

variable "ports" {
  type    = list(number)
  default = []
}

variable "pw" {
  type      = string
  default   = "x"
  sensitive = true
}

variable "flag" {
  type    = bool
  default = false
}

variable "obj" {
  type    = object({ a = number })
  default = { a = 1 }
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
