pw = upper("s3cr3t-MARK") # ERROR: Function calls not allowed
