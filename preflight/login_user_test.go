package preflight

import "testing"

func TestLoginUserMissing(t *testing.T) {
	for _, c := range []struct {
		name, tasks string
		facts       []fact
		want        string
	}{
		{"forgotten", "", []fact{absent("alice")}, "login-user-missing"},
		{"created by a task", "task \"user\" \"admin\" {\n  name = \"alice\"\n}\n", []fact{absent("alice")}, ""},
		{"there", "", []fact{userLine("alice", "alice,sudo")}, ""},
	} {
		h := hostOf(t, aliceHost+c.tasks)
		_, warn := run(t, h, nil, append([]fact{login("pi"), userLine("pi", "pi,sudo")}, c.facts...)...)
		wantFindings(t, c.name, warn, c.want)
		if c.want != "" && len(warn) == 1 {
			mustMention(t, warn[0], "alice, the user hako logs in as (the host's user), does not exist on the host and no user task creates it", "(check login-user-missing)")
		}
	}
}
