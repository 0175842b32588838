//go:build !unix

package hosts

import "os/exec"

// The test server is written for a Unix machine; on others (Windows) it
// only has to compile: there are no process groups to kill.

func ownGroup(*exec.Cmd) {}

func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
