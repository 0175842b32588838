# A misspelt fact is an error before any host is asked (the facts are
# unknown then, their names are not), with the name it was meant to be.
host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

task "directory" "app" {
  path = "/opt/app"
  when = host.facts.os.idd == "debian" # ERROR: Did you mean "id"?
}

task "file" "motd" {
  path    = "/etc/motd"
  content = "on ${host.facts.archh}\n" # ERROR: Did you mean "arch"?
}

handler "reload" {
  command = "true"
  when    = host.facts.network_stacks.networkmanger # ERROR: Did you mean "networkmanager"?
}

task "file" "os" {
  path    = "/etc/os"
  content = host.fact.os.id # ERROR: Did you mean "facts"?
}
