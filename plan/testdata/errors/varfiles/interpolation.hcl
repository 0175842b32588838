pw = "s3cr3t-MARK-${n}" # ERROR: Variables not allowed
