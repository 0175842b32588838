package preflight

import (
	"fmt"
	"strings"

	"github.com/hako-dev/hako/tasks"
	"golang.org/x/crypto/ssh"
)

// password-auth-without-key: the plan leaves sshd with
// "PasswordAuthentication no" while the user hako logs in as afterwards
// (the host's user) has no authorized key, neither on the host now nor
// from a user task: then nobody can log in as that user at all. The value
// judged is the one every connection gets (see effective): a "Match all"
// block's, else the first global one.

func passwordAuth(e *env) []Finding {
	d, ok := effective(e.sshdDirectives(), "passwordauthentication")
	if !ok || len(d.args) == 0 || !strings.EqualFold(d.args[0], "no") {
		return nil
	}
	name := e.host.Conn.User
	why, by := e.noKey(name)
	switch {
	case why == "":
		return nil
	case d.file.task != (tasks.Address{}):
		return []Finding{{Check: CheckPasswordAuth, Task: d.file.task, Message: fmt.Sprintf(
			`%s sets "PasswordAuthentication no" in %s, and %s, the user hako logs in as (the host's user), would have no authorized key: %s; nobody could log in as %s, with a password or a key. Give %s a key first, in a user task: authorized_keys = [file("~/.ssh/id_ed25519.pub")]`,
			d.file.task, d.file.path, name, why, name, name)}}
	case by != (tasks.Address{}):
		// The host refuses passwords already, by its own configuration;
		// the plan's user task takes the last way in.
		return []Finding{{Check: CheckPasswordAuth, Task: by, Message: fmt.Sprintf(
			`%s leaves %s, the user hako logs in as (the host's user), without an authorized key: %s; and sshd refuses passwords ("PasswordAuthentication no" in %s, on the host): nobody could log in as %s. Keep a key for %s in the user task: authorized_keys = [file("~/.ssh/id_ed25519.pub")]`,
			by, name, why, d.file.path, name, name)}}
	}
	return nil // the host's own state, not the plan's doing
}

// noKey says why user would have no authorized key after the plan, or ""
// when it would have one; by is the user task that takes the keys (or the
// user) away, zero when the reason is the host's state.
func (e *env) noKey(user string) (why string, by tasks.Address) {
	var exclusive *tasks.Address
	for _, u := range e.userTasks(user) {
		switch a := u.Address(); {
		case !u.Present():
			return a.String() + " removes the user", a
		case len(u.AuthorizedKeys()) > 0:
			return "", tasks.Address{}
		case u.ExclusiveKeys():
			exclusive = &a
		}
	}
	if exclusive != nil {
		return exclusive.String() + " removes its keys (exclusive_keys = true) and adds none", *exclusive
	}
	uf := e.facts.users[user]
	file := "~" + user + "/.ssh/authorized_keys"
	switch {
	case uf == nil || !uf.exists:
		why = "the user does not exist on the host, and no user task gives it authorized_keys"
	case uf.keysUnreadable:
		why = "hako cannot read " + file + " (become = true lets it), and no user task gives it authorized_keys"
	case !uf.keysKnown:
		why = "it has no " + file + " on the host, and no user task gives it authorized_keys"
	case !hasKey(uf.keys):
		why = file + " on the host holds no key, and no user task gives it authorized_keys"
	}
	return why, tasks.Address{}
}

// hasKey: at least one line of an authorized_keys file is a valid key.
func hasKey(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
			return true
		}
	}
	return false
}
