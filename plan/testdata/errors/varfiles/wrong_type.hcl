n = "abc" # ERROR: gives var.n a value of the wrong type
