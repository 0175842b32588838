//go:build unix

package hosts

import (
	"io/fs"
	"syscall"
)

// localOwner reads the owner of a file of this machine's file system.
func localOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), int(s.Gid), true
	}
	return noUser, noUser, false
}
