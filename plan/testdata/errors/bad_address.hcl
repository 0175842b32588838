host "a" {
  address = "pi@192.0.2.10" # ERROR: write address = "192.0.2.10" and user = "pi"
}

host "b" {
  address = "192.0.2.10:2222" # ERROR: write address = "192.0.2.10" and port = 2222
}

host "c" {
  address = "[2001:db8::1]:2222" # ERROR: write address = "2001:db8::1" and port = 2222
}

host "d" {
  address = "-oProxyCommand=x" # ERROR: starts with '-'
}

host "e" {
  address = "2001:db8::zz" # ERROR: not a valid IPv6 address
}

# These are fine: no user needed (OpenSSH's default: the local user),
# IPv6 with and without brackets.
host "f" {
  address = "[2001:db8::1]"
}

host "g" {
  address = "fe80::1%eth0"
}
