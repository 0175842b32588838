n  = 2
pw = "s3cr3t-MARK # ERROR: Invalid multi-line string # ERROR: Unterminated template string
