package lint

import "testing"

func TestLoginUserMissing(t *testing.T) {
	for _, c := range []struct {
		name, tasks string
		facts       []string
		want        string
	}{
		{"forgotten", "", []string{"N alice"}, "login-user-missing"},
		{"created by a task", "task \"user\" \"admin\" {\n  name = \"alice\"\n}\n", []string{"N alice"}, ""},
		{"there", "", []string{userLine("alice", "alice,sudo")}, ""},
	} {
		h := hostOf(t, aliceHost+c.tasks)
		_, warn := run(t, h, nil, append([]string{"L pi", userLine("pi", "pi,sudo")}, c.facts...)...)
		wantFindings(t, c.name, warn, c.want)
		if c.want != "" && len(warn) == 1 {
			mustMention(t, warn[0], "alice, the user hako logs in as (the host's user), does not exist on the host and no user task creates it", "(check login-user-missing)")
		}
	}
}
