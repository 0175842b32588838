//go:build !unix

package hosts

import "os/exec"

func setProcessGroup(*exec.Cmd) {}

func exitCode(e *exec.ExitError) int { return e.ExitCode() }
