obj = { b = 1 } # ERROR: gives var.obj a value of the wrong type
