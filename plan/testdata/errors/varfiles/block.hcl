n = 1
host "x" { # ERROR: Unexpected "host" block
  address = "s3cr3t-MARK"
}
