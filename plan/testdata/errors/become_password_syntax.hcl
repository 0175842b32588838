# A syntax error on the line of the sudo password: the line is named, the
# password not shown.
host "pi" {
  address         = "127.0.0.1"
  user            = "pi"
  become          = true
  become_password = "s3cr3t-MARK\q" # ERROR: Invalid escape sequence
}
