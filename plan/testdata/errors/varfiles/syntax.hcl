pw = "s3cr3t-MARK"
n = # ERROR: Invalid expression
