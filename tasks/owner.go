package tasks

import (
	"fmt"
	"os"
	"strconv"

	"github.com/hako-dev/hako/attrs"
	"github.com/hako-dev/hako/hosts"
)

// fileMode turns Unix permission bits as plans and stat write them (0o2755)
// into an os.FileMode, whose setuid, setgid and sticky bits live elsewhere.
func fileMode(m int) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}

// ownerAttr reads an owner or group attribute: a name useradd would
// accept, or a numeric id; anything else (a leading '-' would be an option
// to chown) is an error at its expression.
func ownerAttr(a *attrs.Attrs, name string) string {
	s := a.String(name)
	if err := hosts.CheckOwnerName(name, s); err != nil {
		a.AttrErrorf(name, "Invalid "+name, "%v.", err)
		return ""
	}
	return s
}

// keepOwner names an existing owner for a rewrite: by id, which also works
// for a uid or gid that has no name (stat says UNKNOWN).
func keepOwner(id int) string { return strconv.Itoa(id) }

// ownerMatches reports whether a wanted owner (a name or a numeric id)
// matches what stat saw.
func ownerMatches(want, name string, id int) bool {
	if n, err := strconv.Atoi(want); err == nil {
		return n == id
	}
	return want == name
}

// fmtMode prints permission bits the way plans write them.
func fmtMode(m int) string { return fmt.Sprintf("%04o", m) }

// metaChanges lists the mode/owner/group differences between a wanted and
// an existing path; an unset wish (mode < 0, owner "") is not compared.
func metaChanges(fi FileInfo, mode int, owner, group string) []AttrChange {
	var out []AttrChange
	if mode >= 0 && (!fi.Exists || fi.Mode != mode) {
		out = append(out, AttrChange{"mode", existing(fi, fmtMode(fi.Mode)), fmtMode(mode)})
	}
	if owner != "" && (!fi.Exists || !ownerMatches(owner, fi.User, fi.UID)) {
		out = append(out, AttrChange{"owner", existing(fi, fi.User), owner})
	}
	if group != "" && (!fi.Exists || !ownerMatches(group, fi.Group, fi.GID)) {
		out = append(out, AttrChange{"group", existing(fi, fi.Group), group})
	}
	return out
}

func existing(fi FileInfo, s string) string {
	if !fi.Exists {
		return ""
	}
	return s
}
