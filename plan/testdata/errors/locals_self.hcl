host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

locals {
  a = [local.a] # ERROR: Cycle in locals
}
