//go:build unix

package hosts

import (
	"os/exec"
	"syscall"
)

// ownGroup puts cmd in a process group of its own, which killGroup kills
// as a whole (what sshd does to a session's processes).
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
