package preflight

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// lintSoon runs the checks, failing the test if it is still at work after
// a minute: a loop of Includes must be seen, not expanded.
func lintSoon(t *testing.T, src string, facts ...fact) (refusals, warnings []Finding) {
	t.Helper()
	h := hostOf(t, src)
	st := stateOf(t, h, facts...)
	type result struct{ ref, warn []Finding }
	done := make(chan result, 1)
	go func() {
		r, w := Run(h, st, nil)
		done <- result{r, w}
	}()
	select {
	case r := <-done:
		return r.ref, r.warn
	case <-time.After(time.Minute):
		t.Fatal("the checks were still reading sshd's configuration after a minute")
		return nil, nil
	}
}

// Three drop-ins that each include every file of /etc/ssh and of
// sshd_config.d: sshd stops at the loop ("Too many recursive
// configuration includes"), and so does the reading.
func TestSSHDIncludeLoop(t *testing.T) {
	const inc = "Include /etc/ssh/*\nInclude /etc/ssh/sshd_config.d/*\nPort 22\n"
	var planned string
	var hostFacts []fact
	for _, n := range []string{"a", "b", "c"} {
		p := "/etc/ssh/sshd_config.d/" + n + ".conf"
		planned += sshdTask(n, p, inc)
		hostFacts = append(hostFacts, hostFile(p, inc))
	}
	sshd := hostFile("/etc/ssh/sshd_config", debianSSHD)

	ref, _ := lintSoon(t, piHost+planned, login("pi"), userLine("pi", "pi,sudo"), sshd)
	wantFindings(t, "the plan's loop", only(ref, CheckSSHDInclude), "sshd-include file.a")
	if len(ref) == 0 {
		t.FailNow()
	}
	mustMention(t, ref[0], "file.a writes /etc/ssh/sshd_config.d/a.conf",
		"/etc/ssh/sshd_config includes /etc/ssh/sshd_config.d/a.conf includes /etc/ssh/sshd_config",
		"is included again from within itself", "Too many recursive configuration includes")

	// The host's own loop: not the plan's doing, but worth saying.
	ref, warn := lintSoon(t, piHost+sshdTask("motd", "/etc/motd", "hi\n"),
		append([]fact{login("pi"), userLine("pi", "pi,sudo"), sshd}, hostFacts...)...)
	wantFindings(t, "the host's loop: refusals", only(ref, CheckSSHDInclude), "")
	wantFindings(t, "the host's loop: warnings", only(warn, CheckSSHDInclude), "sshd-include")
	if len(only(warn, CheckSSHDInclude)) == 0 {
		t.FailNow()
	}
	mustMention(t, only(warn, CheckSSHDInclude)[0], "the host's own sshd configuration")

	// A file that includes itself.
	ref, _ = lintSoon(t, piHost+sshdTask("self", "/etc/ssh/sshd_config.d/self.conf", "Include sshd_config.d/self.conf\n"),
		login("pi"), userLine("pi", "pi,sudo"), sshd)
	wantFindings(t, "a file including itself", only(ref, CheckSSHDInclude), "sshd-include file.self")
	if len(ref) == 0 {
		t.FailNow()
	}
	mustMention(t, ref[0], "/etc/ssh/sshd_config.d/self.conf is included again from within itself")

	// The same file twice side by side is no loop (sshd reads it twice).
	ref, warn = lintSoon(t, piHost+sshdTask("twice", "/etc/ssh/sshd_config",
		"Include /etc/ssh/x.conf\nInclude /etc/ssh/x.conf\n"), login("pi"), userLine("pi", "pi,sudo"), hostFile("/etc/ssh/x.conf", "Port 22\n"))
	wantFindings(t, "one file included twice", append(only(ref, CheckSSHDInclude), only(warn, CheckSSHDInclude)...), "")
}

// sshd nests Includes 16 deep: the 17th level stops it.
func TestSSHDIncludeDepth(t *testing.T) {
	for _, c := range []struct {
		levels int
		want   string
	}{{16, ""}, {17, "sshd-include file.sshd"}} {
		facts := []fact{login("pi"), userLine("pi", "pi,sudo")}
		for i := 1; i <= c.levels; i++ {
			facts = append(facts, hostFile(fmt.Sprintf("/etc/ssh/n/%02d", i), fmt.Sprintf("Include /etc/ssh/n/%02d\n", i+1)))
		}
		ref, _ := lintSoon(t, piHost+sshdTask("sshd", "/etc/ssh/sshd_config", "Include /etc/ssh/n/01\n"), facts...)
		wantFindings(t, fmt.Sprintf("%d levels", c.levels), only(ref, CheckSSHDInclude), c.want)
		if c.want != "" && len(ref) > 0 {
			mustMention(t, ref[0], "Includes nest deeper than 16 files", "/etc/ssh/n/17")
		}
	}
}

// Includes that fan out without a loop: each of 3 files per level
// includes the 3 of the next, 3^10 files to read. Reading stops at
// sshdMaxReads with a warning.
func TestSSHDIncludeFan(t *testing.T) {
	facts := []fact{login("pi"), userLine("pi", "pi,sudo")}
	for l := 1; l <= 10; l++ {
		for _, n := range []string{"a", "b", "c"} {
			facts = append(facts, hostFile(fmt.Sprintf("/etc/ssh/fan/%02d%s", l, n), fmt.Sprintf("Include /etc/ssh/fan/%02d*\n", l+1)))
		}
	}
	ref, warn := lintSoon(t, piHost+sshdTask("sshd", "/etc/ssh/sshd_config", "Include /etc/ssh/fan/01*\n"), facts...)
	wantFindings(t, "refusals", only(ref, CheckSSHDInclude), "")
	wantFindings(t, "warnings", only(warn, CheckSSHDInclude), "sshd-include")
	if w := only(warn, CheckSSHDInclude); len(w) == 1 && !strings.Contains(w[0].Message, "more than 256 files") {
		t.Errorf("warning %q", w[0].Message)
	}
}
