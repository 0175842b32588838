flag = "maybe" # ERROR: gives var.flag a value of the wrong type
