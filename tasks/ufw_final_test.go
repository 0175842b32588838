package tasks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hako-dev/hako/ufw"
)

// After Apply, the rules ufw holds are compared with those the plan
// predicted: a rule in another place than predicted fails the check,
// although the re-check, which compares rules as sets, finds nothing left
// to do. The comparison works the same from a plan read back from JSON.
func TestUFWCheckFinal(t *testing.T) {
	u := mustUFW(t, `rule { port = 8080 }`)
	hf := loadScenario(t, "active-seed")
	c := checkUFW(t, u, hf, noEndpoint)
	sameLines(t, "commands", cmdLines(c), []string{"allow 8080"})

	const v4, v6 = "### tuple ### allow any 8080 0.0.0.0/0 any 0.0.0.0/0 in", "### tuple ### allow any 8080 ::/0 any ::/0 in"
	asPredicted := withTuple(withTuple(hf, ufw.RulesPath, v4, false), ufw.Rules6Path, v6, false)
	// ufw put the IPv4 rule first instead of last.
	elsewhere := withTuple(withTuple(hf, ufw.RulesPath, v4, true), ufw.Rules6Path, v6, false)

	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var saved Change
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	for _, planned := range []*Change{c, &saved} {
		if err := u.CheckFinal(planned, asPredicted.state(t, u)); err != nil {
			t.Errorf("as predicted: %v", err)
		}
		st := elsewhere.state(t, u)
		if again, err := u.Check(st, Env{}); err != nil || again.Changed() {
			t.Fatalf("the re-check should find nothing to do: %+v, %v", again, err)
		}
		err := u.CheckFinal(planned, st)
		want := `ufw's rules differ from those predicted (and checked for lockout): ` +
			`ufw holds IPv4 rule 1, "allow 8080 from 0.0.0.0/0", which was not predicted; ` +
			`IPv4 rule 5, "allow 8080 from 0.0.0.0/0", was predicted but ufw does not hold it`
		if err == nil || err.Error() != want {
			t.Errorf("rule elsewhere:\n got %v\nwant %s", err, want)
		}
	}
}

// /etc/default/ufw's content is in the plan's JSON when others may read
// the file (its mode is kept).
func TestUFWDefaultsFileJSON(t *testing.T) {
	for mode, want := range map[OctalMode]bool{0o644: true, 0o640: false} {
		b, err := json.Marshal(&UFWDefaultsFile{Content: "IPV6=yes\n", Mode: mode, Owner: "0", Group: "0"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "IPV6=yes") != want {
			t.Errorf("mode %04o: %s", int(mode), b)
		}
	}
}

// withTuple returns a copy of hf whose rules file path has tuple as its
// first or last rule, where ufw writes rules.
func withTuple(hf ufwHostFiles, path, tuple string, first bool) ufwHostFiles {
	out := hf.with(path)
	lines := strings.SplitAfter(out.files[path], "\n")
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "### tuple ###") && (at < 0 || !first) {
			at = i
			if !first {
				at++
			}
		}
	}
	lines = append(lines[:at], append([]string{tuple + "\n"}, lines[at:]...)...)
	out.files[path] = strings.Join(lines, "")
	return out
}
