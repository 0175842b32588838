ports = ["http", 22] # ERROR: gives var.ports a value of the wrong type
