host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "sshd" {
  path     = "/etc/ssh/sshd_config"
  content  = "Port 22\n"
  validate = "sshd -t -f" # ERROR: validate must contain %s
}