pw = "s3cr3t-MARK"
pw = "s3cr3t-MARK-2" # ERROR: Attribute redefined
