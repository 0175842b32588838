pw = "s3cr3t-MARK\q" # ERROR: Invalid escape sequence
