variable "token" {
  type      = string
  default   = "HUNTER2-token"
  sensitive = true
}

variable "pw" {
  sensitive = true
  default   = <<-EOT
    HUNTER2-heredoc
  EOT
}

variable "open" {
  default   = "shown"
  sensitive = false
}

variable "plain" {
  default = "shown too"
}

stray = { a = "HUNTER2-object",
  b = "HUNTER2-second-line" }

task "file" "x" {
  path    = "/etc/x"
  content = "shown: plan content is not hidden by the snippet"
}
