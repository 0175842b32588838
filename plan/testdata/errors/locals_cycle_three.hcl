host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

locals {
  a = "${local.b}-x" # ERROR: Cycle in locals
  b = upper(local.c)
  c = local.a
}
