n  = 1
pw = <<EOT # ERROR: Invalid expression
s3cr3t-MARK # ERROR: Argument or block definition required
