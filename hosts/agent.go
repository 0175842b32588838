package hosts

import (
	"net"
	"strings"
	"time"
)

// windowsAgentPipe is where the ssh-agent service of Windows' own OpenSSH
// listens; Windows' ssh uses it when SSH_AUTH_SOCK is not set.
const windowsAgentPipe = `\\.\pipe\openssh-ssh-agent`

// agentAddress is where to reach the agent, given SSH_AUTH_SOCK: that
// socket, or on Windows also a named pipe (SSH_AUTH_SOCK naming one, or the
// OpenSSH agent's pipe when it is unset). "" means no agent.
func agentAddress(env string, windows bool) (addr string, pipe bool) {
	if env == "" && windows {
		return windowsAgentPipe, true
	}
	return env, windows && isNamedPipe(env)
}

// isNamedPipe: a Windows pipe path, \\.\pipe\NAME (or with forward
// slashes, as some tools write it).
func isNamedPipe(p string) bool {
	p = strings.ReplaceAll(p, `/`, `\`)
	return len(p) > len(`\\.\pipe\`) && strings.EqualFold(p[:len(`\\.\pipe\`)], `\\.\pipe\`)
}

// dialAgentAddr connects to the agent: a named pipe (Windows), else a
// Unix socket (also on Windows 10 and later, where agents such as
// KeeAgent or a WSL relay can offer one).
func dialAgentAddr(addr string, pipe bool, timeout time.Duration) (net.Conn, error) {
	if pipe {
		return dialPipe(addr, timeout)
	}
	return net.DialTimeout("unix", addr, timeout)
}
