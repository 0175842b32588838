host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

locals {
  a = local.b # ERROR: Cycle in locals
  b = local.a
}