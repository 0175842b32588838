# The snippet of an error about a sensitive variable's default does not
# show the value.
variable "n" {
  type = number
  default = "HUNTER2-not-a-number" # ERROR: not compatible with the variable's type
  sensitive = true
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}
