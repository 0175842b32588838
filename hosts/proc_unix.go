//go:build unix

package hosts

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the shell in its own process group and makes
// cancellation kill the whole group.
func setProcessGroup(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
}

// exitCode reports death by signal n as 128+n, like sh and sshd do.
func exitCode(e *exec.ExitError) int {
	if ws, ok := e.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return e.ExitCode()
}
