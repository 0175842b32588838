# Two ufw tasks are fine on different hosts, not on one both reach.
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

host "web" {
  address = "127.0.0.2"
  user    = "pi"
}

task "ufw" "pi_only" {
  hosts = ["pi"]
  rule {
    port = 22
  }
}

task "ufw" "everyone" { # ERROR: Two ufw tasks on one host
  rule {
    port = 2222
  }
}
