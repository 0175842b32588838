host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "newline" {
  path = "/srv/a\nb" # ERROR: path must not contain control characters such as a newline or a tab, got "/srv/a\nb"
}

task "file" "escape" {
  path    = "/etc/motd\u001b[2J" # ERROR: path must not contain control characters such as a newline or a tab, got "/etc/motd\x1b[2J"
  content = "hi\n"
}

task "file" "tab" {
  path    = "/etc/a\tb" # ERROR: path must not contain control characters
  content = "hi\n"
}

task "command" "carriage_return" {
  command = "true"
  creates = "/run/done\r" # ERROR: creates must not contain control characters
}

task "user" "shell" {
  name  = "app"
  shell = "/bin/sh\r" # ERROR: Invalid shell
}
