package hosts

import (
	"os"
	"strings"
)

// planVarPrefix starts the environment variables hako reads plan
// variables from (HAKO_VAR_name): the README's way to hand hako a secret.
const planVarPrefix = "HAKO_VAR_"

// childEnv is the environment of the programs hako starts on this machine
// (ssh -G, a ProxyCommand, a local host's shell): hako's own, less the
// plan variables. None of these programs needs them, and each would carry
// a secret in its environment for as long as it runs (readable in
// /proc/PID/environ, passed on to what it starts, sent by ssh's SendEnv).
func childEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, planVarPrefix) {
			out = append(out, kv)
		}
	}
	return out
}
