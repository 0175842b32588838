package preflight

import "fmt"

// login-user-missing (a warning): the host's user does not exist on the
// host and no user task creates it, so hako cannot log in with the host's
// own settings (typically: connected through the bootstrap user, with the
// admin user forgotten).

func loginUserMissing(e *env) []Finding {
	name := e.host.Conn.User
	uf := e.facts.users[name]
	if uf == nil || uf.exists {
		return nil
	}
	for _, u := range e.userTasks(name) {
		if u.Present() {
			return nil
		}
	}
	return []Finding{{Check: WarnLoginUserMissing, Message: fmt.Sprintf(
		"%s, the user hako logs in as (the host's user), does not exist on the host and no user task creates it: hako cannot log in with the host's own settings; add a user task for %s with authorized_keys and sudo = \"nopasswd\"",
		name, name)}}
}
