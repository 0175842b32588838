pw "s3cr3t-MARK" # ERROR: Invalid block definition
