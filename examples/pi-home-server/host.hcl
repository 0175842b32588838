host "pi" {
  address       = var.address
  port          = var.ssh_port
  user          = var.admin_user
  identity_file = var.identity_file
  known_hosts   = var.known_hosts
  become        = true
}

locals {
  provider = "dsl-provider"
  # pppoeconf names the ISP user in the peer file and in both secrets files.
  ppp_secrets = templatefile("templates/ppp-secrets.tftpl", {
    user     = var.pppoe_user
    password = var.pppoe_password
  })
  pppoe_files = [
    "/etc/ppp/peers/${local.provider}",
    "/etc/ppp/chap-secrets",
    "/etc/ppp/pap-secrets",
    "/etc/network/interfaces.d/${local.provider}",
  ]
}
