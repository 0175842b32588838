package tasks

import (
	"fmt"

	"github.com/hako-dev/hako/probe"
)

// What a user task learns from the host: who probes, the account (its
// groups, its home's .ssh and authorized_keys, read as the user; see
// probe.Account), and hako's sudoers rule.

func (u *User) Probes() []Probe {
	return []Probe{probe.Login{}, probe.Account{Name: u.name},
		probe.Stat{Path: u.sudoersPath()}, probe.File{Path: u.sudoersPath()}}
}

// fileMeta is a stat answer as the user task reads it.
type fileMeta struct {
	exists       bool
	mode         int
	owner, group string
	typ          string
}

func metaOf(fi FileInfo) fileMeta {
	return fileMeta{exists: fi.Exists, mode: fi.Mode, owner: fi.User, group: fi.Group, typ: fi.Type}
}

func (m fileMeta) String() string { return fmt.Sprintf("%04o %s", m.mode, m.owner) }

// userFacts is what the probes learned.
type userFacts struct {
	uid     int    // of the probing shell: root is needed
	login   string // the user hako is logged in as
	exists  bool
	shell   string
	home    string
	groups  []string // all of them, primary first (id -nG)
	primary string
	sshDir  fileMeta
	keyFile fileMeta
	keys    []byte
	keysBad bool // authorized_keys exists but its user cannot read it
	sudo    fileMeta
	rule    []byte
}

func (u *User) facts(s *State) *userFacts {
	l := probe.Answer[probe.LoginInfo](s.Answers, probe.Login{})
	a := probe.Answer[probe.AccountInfo](s.Answers, probe.Account{Name: u.name})
	f := &userFacts{uid: l.UID, login: l.Name, exists: a.Exists, shell: a.Shell, home: a.Home,
		groups: a.Groups, primary: a.Primary, sshDir: metaOf(a.SSHDir), keyFile: metaOf(a.KeyFile),
		keys: a.Keys, keysBad: a.KeysUnreadable, sudo: metaOf(s.Stat(u.sudoersPath()))}
	if c := s.Content(u.sudoersPath()); c.Readable {
		f.rule = c.Data
	}
	return f
}
