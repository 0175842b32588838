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

task "file" "right_to_left_override" {
  path    = "/etc/sudoers.d/\u202efnoc.hsab" # ERROR: path must not contain control characters such as a newline or a tab, got "/etc/sudoers.d/\u202efnoc.hsab"
  content = "hi\n"
}

task "directory" "zero_width_space" {
  path = "/srv/\u200bapp" # ERROR: path must not contain control characters
}

task "command" "line_separator" {
  command = "true"
  creates = "/run/done\u2028" # ERROR: creates must not contain control characters
}

task "directory" "paragraph_separator" {
  path = "/srv/a\u2029b" # ERROR: path must not contain control characters
}
