# A variable's value put in a plan file: the error names the line but the
# snippet does not show the value.
variable "pppoe_password" {
  type      = string
  sensitive = true
}

pppoe_password = "HUNTER2-in-plan" # ERROR: Value outside a block

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

token = { # ERROR: Value outside a block
  secret = "HUNTER2-object"
}
