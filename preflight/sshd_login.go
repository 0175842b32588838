package preflight

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hako-dev/hako/tasks"
)

// sshd-login-user: the sshd configuration the plan leaves would refuse
// the host's user, the one hako logs in as from the next run on, a
// public-key login from where hako connects now, while the configuration
// on the host now lets it in: DenyUsers or DenyGroups names it, AllowUsers
// or AllowGroups leaves it out (with its groups as the plan's user tasks
// leave them), PubkeyAuthentication is off, or AuthenticationMethods asks
// for more than a key in every list. Match blocks count for the
// connection hako makes: its user, groups, address and the host's port,
// as sshd -T -C would judge them.
//
// The bootstrap user is not judged: hako uses it only until the plan has
// made the host's user, and a plan that lets only the new user in is the
// usual way to close the card's default account.

func sshdLoginUser(e *env) []Finding {
	user := e.host.Conn.User
	groups := e.groupsAfter(user)
	if groups == nil {
		return nil // removed, or never made: login-user-sudo and login-user-missing speak
	}
	deny, ok := e.sshdDenies(user, groups)
	if !ok {
		return nil
	}
	// The plan's doing only: the host's configuration now, with the
	// user's groups now (a user the plan makes: with those it gets),
	// lets the login in.
	now := groups
	if uf := e.facts.users[user]; uf != nil && uf.exists {
		now = uf.groups
	}
	if _, denied := e.hostOnly().sshdDenies(user, now); denied {
		return nil
	}
	by := deny.d.file.task
	if by == (tasks.Address{}) && deny.groups {
		by = e.groupsTask(user)
	}
	if by == (tasks.Address{}) {
		_, read, _ := e.sshdReadFor(nil)
		f, _ := firstPlanned(read)
		by = f.task
	}
	if by == (tasks.Address{}) {
		by = e.groupsTask(user)
	}
	text := deny.d.String()
	if deny.d.file.sensitive {
		text = deny.d.keyword() + " (sensitive)"
	} else if len(text) > 40 {
		text = text[:37] + "..."
	}
	who := "the plan"
	if by != (tasks.Address{}) {
		who = by.String()
	}
	msg := fmt.Sprintf("%s would lock hako out: %s:%d %q %s; sshd would refuse hako's login as %s. %s",
		who, deny.d.file.path, deny.d.line, text, deny.why, user, deny.fix)
	return []Finding{{Check: CheckSSHDLoginUser, Task: by, Message: msg}}
}

// sshdDenial is the directive that refuses the login and why.
type sshdDenial struct {
	d        sshdDirective
	why, fix string
	groups   bool // decided by the user's groups
}

// sshdDenies judges a public-key login of user, in groups, over the
// connection hako uses, against the configuration e leaves, in sshd's
// order: DenyUsers, AllowUsers, DenyGroups, AllowGroups (allowed_user),
// then whether a key alone can log in.
func (e *env) sshdDenies(user string, groups []string) (sshdDenial, bool) {
	c := e.sshdConnFor(user, groups)
	ds, _, _ := e.sshdReadFor(c)
	return sshdRefuses(ds, c)
}

// sshdRefuses judges a public-key login over c against the directives ds
// (read for c), in sshd's order.
func sshdRefuses(ds []sshdDirective, c *sshdConn) (sshdDenial, bool) {
	user := c.user
	for _, d := range sshdList(ds, "denyusers") {
		if slices.ContainsFunc(d.args, c.matchUser) {
			return sshdDenial{d: d, why: "lists " + user, fix: "Take " + user + " out of it"}, true
		}
	}
	if allow := sshdList(ds, "allowusers"); len(allow) > 0 &&
		!slices.ContainsFunc(allow, func(d sshdDirective) bool { return slices.ContainsFunc(d.args, c.matchUser) }) {
		return sshdDenial{d: allow[0], why: "leaves out " + user, fix: "Add " + user + " to it"}, true
	}
	for _, d := range sshdList(ds, "denygroups") {
		if c.inGroups(d.args) {
			return sshdDenial{d: d, why: "names a group of " + user + "'s", fix: "Take that group out", groups: true}, true
		}
	}
	if allow := sshdList(ds, "allowgroups"); len(allow) > 0 {
		var patterns []string
		for _, d := range allow {
			patterns = append(patterns, d.args...)
		}
		if !c.inGroups(patterns) {
			return sshdDenial{d: allow[0], why: "names no group of " + user + "'s", fix: "Add one of its groups to it", groups: true}, true
		}
	}
	// Root's login: PermitRootLogin no refuses it, forced-commands-only
	// lets a key in only to run that key's forced command, never hako's.
	// (sshd asks uid 0; the account of that uid is named root on Debian.)
	if d, ok := effectiveOf(ds, "permitrootlogin"); ok && user == "root" && len(d.args) > 0 &&
		(strings.EqualFold(d.args[0], "no") || strings.EqualFold(d.args[0], "forced-commands-only")) {
		return sshdDenial{d: d, why: "refuses root's key login", fix: "Keep PermitRootLogin prohibit-password, or log in as another user with become"}, true
	}
	if d, ok := effectiveOf(ds, "pubkeyauthentication", "dsaauthentication"); ok && len(d.args) > 0 && strings.EqualFold(d.args[0], "no") {
		return sshdDenial{d: d, why: "turns off key logins", fix: "Keep PubkeyAuthentication yes"}, true
	}
	if d, ok := effectiveOf(ds, "authenticationmethods"); ok && !keyAlone(d.args) {
		return sshdDenial{d: d, why: "asks more than a key in each list", fix: "Add the list publickey"}, true
	}
	return sshdDenial{}, false
}

// keyAlone: one of sshd's AuthenticationMethods lists is satisfied by
// public keys alone ("any" is every method, each on its own).
func keyAlone(lists []string) bool {
	for _, l := range lists {
		if l == "any" {
			return true
		}
		alone := true
		for _, m := range strings.Split(l, ",") {
			alone = alone && m == "publickey"
		}
		if alone {
			return true
		}
	}
	return false
}

// sshdConnFor is the connection hako makes from the next run on, as sshd
// sees it: the host's user, from the address the host sees hako come
// from now, to the host's port and the address hako reached.
func (e *env) sshdConnFor(user string, groups []string) *sshdConn {
	c := &sshdConn{user: user, groups: groups, addr: e.endpoint.ClientAddr, laddr: e.endpoint.ServerAddr, lport: e.host.Conn.Port}
	// With UseDNS no (the default) the client's name is its address;
	// with yes it is what reverse DNS says on the host, unknown here.
	if d, ok := first(e.sshdDirectives(), "usedns"); !ok || len(d.args) == 0 || !strings.EqualFold(d.args[0], "yes") {
		c.host = c.addr
	}
	return c
}

// sshdList returns the lines of an option whose values add up (AllowUsers
// and the like): those of the connection's pass when it has any, which
// replace the global ones, else the global ones.
func sshdList(ds []sshdDirective, key string) []sshdDirective {
	var global, conn []sshdDirective
	for _, d := range ds {
		switch {
		case d.key != key:
		case d.conn:
			conn = append(conn, d)
		case d.global:
			global = append(global, d)
		}
	}
	if len(conn) > 0 {
		return conn
	}
	return global
}

// effectiveOf is effective for an option with several keywords.
func effectiveOf(ds []sshdDirective, keys ...string) (sshdDirective, bool) {
	for _, pass := range []func(sshdDirective) bool{
		func(d sshdDirective) bool { return d.conn }, func(d sshdDirective) bool { return d.global },
	} {
		for _, d := range ds {
			if pass(d) && slices.Contains(keys, d.key) {
				return d, true
			}
		}
	}
	return sshdDirective{}, false
}

// groupsTask is the first user task that manages user's groups.
func (e *env) groupsTask(user string) tasks.Address {
	for _, u := range e.userTasks(user) {
		if len(u.Groups()) > 0 || u.ExclusiveGroups() {
			return u.Address()
		}
	}
	return tasks.Address{}
}
