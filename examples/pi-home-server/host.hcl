host "pi" {
  address       = var.address
  port          = var.ssh_port
  user          = var.admin_user
  identity_file = var.identity_file
  known_hosts   = var.known_hosts
  become        = true

  # A freshly flashed card: SSH on 22 as the imager's user. hako uses this
  # only when ssh_port refuses the connection, then moves SSH to ssh_port.
  bootstrap {
    port = var.bootstrap_port
    user = local.bootstrap_user
  }
}

locals {
  bootstrap_user = var.bootstrap_user != null ? var.bootstrap_user : var.admin_user
  # Whether the plan sets up PPPoE: only the user name decides, since
  # whether a sensitive value is set would make every task list and
  # package name that depends on it sensitive too.
  pppoe          = var.pppoe_user != null
  provider       = "dsl-provider"
  # The session's pppd as pgrep -f matches its command line (pon runs
  # "pppd call PROVIDER"; poff finds it the same way).
  pppd           = "pppd call ${local.provider}( |$)"
  # pppoeconf names the ISP user in the peer file and in both secrets files.
  ppp_secrets = local.pppoe ? templatefile("templates/ppp-secrets.tftpl", {
    user     = var.pppoe_user
    password = var.pppoe_password
  }) : ""
  pppoe_files = [
    "/etc/ppp/peers/${local.provider}",
    "/etc/ppp/chap-secrets",
    "/etc/ppp/pap-secrets",
    "/etc/network/interfaces.d/${local.provider}",
  ]
}
