package lint

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
	why := e.noKey(name)
	if why == "" {
		return nil
	}
	if d.file.task == (tasks.Address{}) {
		return e.lastKeyTaken(name, why, d.file.path)
	}
	return []Finding{{Check: CheckPasswordAuth, Task: d.file.task, Message: fmt.Sprintf(
		`%s sets "PasswordAuthentication no" in %s, and %s, the user hako logs in as (the host's user), would have no authorized key: %s; nobody could log in as %s, with a password or a key. Give %s a key first, in a user task: authorized_keys = [file("~/.ssh/id_ed25519.pub")]`,
		d.file.task, d.file.path, name, why, name, name)}}
}

// lastKeyTaken: the host refuses passwords already (its own config), and
// a user task takes the login user's last way in, its keys or the user.
// Without such a task the state is the host's, not the plan's doing.
func (e *env) lastKeyTaken(name, why, path string) []Finding {
	for _, u := range e.userTasks(name) {
		if !u.Present() || u.ExclusiveKeys() && len(u.AuthorizedKeys()) == 0 {
			return []Finding{{Check: CheckPasswordAuth, Task: u.Address(), Message: fmt.Sprintf(
				`%s leaves %s, the user hako logs in as (the host's user), without an authorized key: %s; and sshd refuses passwords ("PasswordAuthentication no" in %s, on the host): nobody could log in as %s. Keep a key for %s in the user task: authorized_keys = [file("~/.ssh/id_ed25519.pub")]`,
				u.Address(), name, why, path, name, name)}}
		}
	}
	return nil
}

// noKey says why user would have no authorized key after the plan, or ""
// when it would have one.
func (e *env) noKey(user string) string {
	exclusive := ""
	for _, u := range e.userTasks(user) {
		switch {
		case !u.Present():
			return u.Address().String() + " removes the user"
		case len(u.AuthorizedKeys()) > 0:
			return ""
		case u.ExclusiveKeys():
			exclusive = u.Address().String()
		}
	}
	if exclusive != "" {
		return exclusive + " removes its keys (exclusive_keys = true) and adds none"
	}
	uf := e.facts.users[user]
	file := "~" + user + "/.ssh/authorized_keys"
	switch {
	case uf == nil || !uf.exists:
		return "the user does not exist on the host, and no user task gives it authorized_keys"
	case uf.keysUnreadable:
		return "hako cannot read " + file + " (become = true lets it), and no user task gives it authorized_keys"
	case !uf.keysKnown:
		return "it has no " + file + " on the host, and no user task gives it authorized_keys"
	case !hasKey(uf.keys):
		return file + " on the host holds no key, and no user task gives it authorized_keys"
	}
	return ""
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
