package preflight

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// login-user-sudo: a user task for the user hako logs in as (the host's
// user, and the bootstrap user while hako is connected through it) that
// takes its sudo away: sudo = "none" or exclusive_groups without "sudo",
// leaving it in no group sudo, without hako's rule and without another
// sudoers rule that names it; or that removes the user. hako becomes root
// with sudo as that user, so the next run could change nothing.

func loginUserSudo(e *env) []Finding {
	var out []Finding
	for _, lu := range e.loginUsers() {
		if lu.name == "root" {
			continue
		}
		for _, u := range e.userTasks(lu.name) {
			if !u.Present() {
				out = append(out, Finding{Check: CheckLoginUserSudo, Task: u.Address(), Message: fmt.Sprintf(
					"%s would remove the user %q, %s: hako could not log in as it again; keep the user", u.Address(), lu.name, lu.role)})
				continue
			}
			managed, grants := u.GrantsSudo()
			var how []string
			if managed && !grants {
				how = append(how, `sudo = "none"`)
			}
			if u.ExclusiveGroups() && !slices.Contains(u.Groups(), "sudo") {
				how = append(how, `exclusive_groups = true without "sudo" in groups`)
			}
			if len(how) == 0 {
				continue
			}
			groups := u.Groups()
			if !u.ExclusiveGroups() && e.facts.users[lu.name] != nil {
				groups = append(groups, e.facts.users[lu.name].groups...)
			}
			rule := "/etc/sudoers.d/hako-" + lu.name
			_, ruleThere := e.file(rule)
			// hako runs `sudo -n`: only a rule without a password counts
			// (group sudo alone asks for one, and the user may have none).
			switch {
			case managed && grants, !managed && ruleThere:
				continue
			}
			if other := e.otherSudoRule(lu.name, groups, rule); other != "" {
				continue
			}
			out = append(out, Finding{Check: CheckLoginUserSudo, Task: u.Address(), Message: fmt.Sprintf(
				"%s leaves %s, %s, without passwordless sudo (%s): no %s and no other NOPASSWD sudoers rule names it or its groups; hako becomes root with `sudo -n` as %s, so it could change nothing afterwards. Keep sudo = \"nopasswd\"",
				u.Address(), lu.name, lu.role, strings.Join(how, ", "), rule, lu.name)})
		}
	}
	return out
}

type loginUser struct{ name, role string }

// loginUsers: the host's user, and the user hako is logged in as now when
// that is another (the bootstrap user).
func (e *env) loginUsers() []loginUser {
	out := []loginUser{{e.host.Conn.User, "the user hako logs in as (the host's user)"}}
	if l := e.facts.login; l != "" && l != e.host.Conn.User {
		out = append(out, loginUser{l, "the user hako is logged in as now (the bootstrap user)"})
	}
	return out
}

// otherSudoRule returns a sudoers file (as the plan leaves it, other than
// skip) with a NOPASSWD rule for user or one of its groups, or "".
func (e *env) otherSudoRule(user string, groups []string, skip string) string {
	for _, p := range e.paths(isSudoersPath) {
		f, _ := e.file(p)
		if p == skip || f.unreadable {
			continue
		}
		for _, line := range strings.Split(string(f.data), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], "@") ||
				strings.HasSuffix(fields[0], "_Alias") || strings.HasPrefix(fields[0], "Defaults") ||
				!strings.Contains(line, "NOPASSWD:") {
				continue
			}
			for _, who := range strings.Split(fields[0], ",") {
				if who == user || strings.HasPrefix(who, "%") && slices.Contains(groups, who[1:]) {
					return p
				}
			}
		}
	}
	return ""
}

// isSudoersPath: /etc/sudoers, or a file sudo reads from /etc/sudoers.d
// (it skips names with a dot or ending in ~).
func isSudoersPath(p string) bool {
	if p == "/etc/sudoers" {
		return true
	}
	name := path.Base(p)
	return path.Dir(p) == "/etc/sudoers.d" && !strings.Contains(name, ".") && !strings.HasSuffix(name, "~")
}
