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
			`%s sets "PasswordAuthentication no", but hako's login user %s has no key (%s): nobody could log in. Give it a key in a user task`,
			d.file.task, name, why)}}
	case by != (tasks.Address{}):
		// The host refuses passwords already, by its own configuration;
		// the plan's user task takes the last way in. why names the task.
		return []Finding{{Check: CheckPasswordAuth, Task: by, Message: fmt.Sprintf(
			`%s, and the host's sshd refuses passwords (%s): hako could not log in as %s. Leave %s a key in the user task`,
			why, d.file.path, name, name)}}
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
		return exclusive.String() + "'s exclusive_keys drops its keys", *exclusive
	}
	uf := e.facts.users[user]
	switch {
	case uf == nil || !uf.exists:
		why = "no such user on the host"
	case uf.keysUnreadable:
		why = "its authorized_keys is unreadable without become"
	case !uf.keysKnown:
		why = "no authorized_keys file on the host"
	case !hasKey(uf.keys):
		why = "its authorized_keys holds no key"
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
