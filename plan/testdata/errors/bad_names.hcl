host "my host" { # ERROR: "my host" is not a valid name
  address = "127.0.0.1"
  user    = "pi"
}

task "file" "" { # ERROR: "" is not a valid name
  path    = "/etc/x"
  content = "x\n"
}

handler "re load" { # ERROR: "re load" is not a valid name
  command = "true"
}
