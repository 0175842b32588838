# A list for a sensitive string: the error names the variable, not the value.
pw = ["s3cr3t-MARK"] # ERROR: gives var.pw a value of the wrong type
