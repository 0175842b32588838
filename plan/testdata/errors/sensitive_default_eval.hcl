# A sensitive default that is not a literal: the error names the place but
# not the text of the default.
variable "a" {
  sensitive = true
  default   = { user = "pi" }.s3cr3t-MARK # ERROR: Unsupported attribute
}

variable "b" {
  sensitive = true
  default   = { s3cr3t-MARK = 1 }["x"] # ERROR: Invalid index
}

variable "c" {
  sensitive = true
  default   = s3cr3t-MARK # ERROR: Variables not allowed
}

host "pi" {
  address = "127.0.0.1"
  user    = "pi"
}

variable "d" {
  type      = map(number)
  sensitive = true
  default   = { s3cr3t-MARK = "x" } # ERROR: not compatible with the variable's type constraint (details are hidden
}
