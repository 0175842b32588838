n = var.s # ERROR: Variables not allowed
